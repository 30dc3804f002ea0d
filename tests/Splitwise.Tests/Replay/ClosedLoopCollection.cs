namespace Splitwise.Tests.Replay;

/// <summary>Timing-sensitive end-to-end tests run alone, after the parallel ones, so other tests do not steal the CPU.</summary>
[CollectionDefinition("ClosedLoop", DisableParallelization = true)]
public sealed class ClosedLoopCollection;
