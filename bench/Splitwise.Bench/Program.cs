using BenchmarkDotNet.Running;

if (args is ["traces-parse-single", var file])
{
    return Splitwise.Bench.TraceParserSingleThread.Run(file);
}

if (args is ["traces-throughput", ..])
{
    return Splitwise.Bench.TraceParserThroughput.Run(args[1..]);
}

if (args is ["closed-loop", ..])
{
    return await Splitwise.Bench.ClosedLoopBench.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
