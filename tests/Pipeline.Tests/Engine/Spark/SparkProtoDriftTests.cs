using Google.Protobuf.Reflection;
using NUnit.Framework;
using Client = Pipeline.Engine.Spark.Protocol;
using Server = Pipeline.Tests.Engine.Spark.Fake;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// The fake server is generated from a test copy of the proto (other C# namespace): every message, field and RPC
/// the client declares must exist in the copy with the same number, type and cardinality, so the tests exercise
/// the same wire format as the client.
/// </summary>
[TestFixture]
public sealed class SparkProtoDriftTests
{
    [TestCaseSource(nameof(Files))]
    public void Client_messages_exist_unchanged_in_the_fake_server_copy((FileDescriptor Client, FileDescriptor Server) files)
    {
        Assert.That(files.Server.Package, Is.EqualTo(files.Client.Package));
        var serverMessages = AllMessages(files.Server.MessageTypes).ToDictionary(m => m.FullName);
        var checkedFields = 0;
        foreach (var message in AllMessages(files.Client.MessageTypes))
        {
            Assert.That(serverMessages.TryGetValue(message.FullName, out var other), Is.True, message.FullName);
            foreach (var field in message.Fields.InDeclarationOrder())
            {
                var match = other!.FindFieldByNumber(field.FieldNumber);
                Assert.That(match, Is.Not.Null, $"{message.FullName}.{field.Name}");
                Assert.That(match!.Name, Is.EqualTo(field.Name), $"{message.FullName} #{field.FieldNumber}");
                Assert.That(match.FieldType, Is.EqualTo(field.FieldType), $"{message.FullName}.{field.Name}");
                Assert.That(match.IsRepeated, Is.EqualTo(field.IsRepeated), $"{message.FullName}.{field.Name}");
                Assert.That(match.RealContainingOneof?.Name, Is.EqualTo(field.RealContainingOneof?.Name), $"{message.FullName}.{field.Name}");
                if (field.FieldType is FieldType.Message)
                {
                    Assert.That(match.MessageType.FullName, Is.EqualTo(field.MessageType.FullName), $"{message.FullName}.{field.Name}");
                }
                if (field.FieldType is FieldType.Enum)
                {
                    var values = field.EnumType.Values.Select(v => (v.Name, v.Number));
                    Assert.That(match.EnumType.Values.Select(v => (v.Name, v.Number)), Is.EquivalentTo(values), $"{message.FullName}.{field.Name}");
                }
                checkedFields++;
            }
        }
        Assert.That(checkedFields, Is.GreaterThan(0));

        foreach (var service in files.Client.Services)
        {
            var other = files.Server.Services.Single(s => s.FullName == service.FullName);
            foreach (var method in service.Methods)
            {
                var match = other.FindMethodByName(method.Name);
                Assert.That(match, Is.Not.Null, method.FullName);
                Assert.That(match!.InputType.FullName, Is.EqualTo(method.InputType.FullName));
                Assert.That(match.OutputType.FullName, Is.EqualTo(method.OutputType.FullName));
                Assert.That(match.IsServerStreaming, Is.EqualTo(method.IsServerStreaming), method.FullName);
            }
        }
    }

    [Test]
    public void Service_path_is_spark_connects()
    {
        Assert.That(Client.SparkConnectReflection.Descriptor.Services.Single().FullName, Is.EqualTo("spark.connect.SparkConnectService"));
    }

    private static IEnumerable<(FileDescriptor, FileDescriptor)> Files()
    {
        yield return (Client.SparkConnectReflection.Descriptor, Server.FakeSparkConnectReflection.Descriptor);
        yield return (Client.Rpc.GoogleRpcStatusReflection.Descriptor, Server.Rpc.FakeGoogleRpcStatusReflection.Descriptor);
    }

    private static IEnumerable<MessageDescriptor> AllMessages(IEnumerable<MessageDescriptor> messages) =>
        messages.SelectMany(m => AllMessages(m.NestedTypes).Prepend(m)).Where(m => !m.GetOptions()?.MapEntry ?? true);
}
