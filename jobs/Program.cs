// The `pipeline` executable: everything lives in Cli/CliApp.cs.
return Pipeline.Cli.CliApp.Run(args, Console.Out, Console.Error);
