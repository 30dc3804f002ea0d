using Splitwise.Serving;

namespace Splitwise.Tests.Serving;

/// <summary>The emulated instance follows the engine's batching rules (<c>Simulation.BatchRules</c>).</summary>
public class EmulatedInstanceTests
{
    private static EmulatedInstance Instance() =>
        new(0, new EmulatedInstanceSpec(new AffinePerformanceModel(1_000_000, 1_000, 10_000), 1_000_000L * 1024, 1024));

    /// <summary>Starts a decode-only run of a request with <paramref name="output"/> tokens; returns its length.</summary>
    private static int StartDecodeRun(EmulatedInstance inst, int output)
    {
        inst.EnqueuePrompt(new EmulatedRequest(100, output));
        Assert.True(inst.StartIteration(_ => { }, _ => { }) > 0); // the prompt
        inst.CompleteIteration(_ => { }, _ => { });
        Assert.True(inst.StartIteration(_ => { }, _ => { }) > 0); // the decode run
        return inst.RunRemaining;
    }

    [Theory]
    [InlineData(500)] // joins the batch
    [InlineData(3000)] // larger than the 2048-token limit: its token task still arrives with it, as in the engine
    public void An_arriving_prompt_cuts_the_decode_run_at_the_next_boundary(int promptTokens)
    {
        EmulatedInstance inst = Instance();
        Assert.Equal(99, StartDecodeRun(inst, 100));
        var big = new EmulatedRequest(promptTokens, 10);
        inst.EnqueuePrompt(big);
        inst.OnWorkArrived(promptTokens);
        Assert.Equal(1, inst.RunRemaining);
        Assert.False(inst.ContinueRun());
        inst.CompleteIteration(_ => { }, _ => { });
        Assert.True(inst.StartIteration(_ => { }, _ => { }) > 0);
        Assert.Equal(EmulatedPhase.Prompting, big.Phase);
    }
}
