using System.CommandLine;
var root = new RootCommand("x");
var o = new Option<string>("--input") { Description = "in" };
var c = new Command("clean-orders", "Clean orders");
c.Options.Add(o);
c.SetAction(pr => { Console.WriteLine(pr.GetValue(o)); return 0; });
root.Subcommands.Add(c);
return root.Parse(args).Invoke();
