using Pipeline.Tools;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: pipeline-compare <output-dir-A> <output-dir-B>   (exit 0: same tables, counts, keys and sums; 1: differences)");
    return 2;
}
var comparison = OutputComparer.Compare(Path.GetFullPath(args[0]), Path.GetFullPath(args[1]));
Console.WriteLine(OutputComparer.Report(comparison));
return comparison.Equal ? 0 : 1;
