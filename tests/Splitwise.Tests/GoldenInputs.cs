namespace Splitwise.Tests;

/// <summary>
/// Small hand-written inputs for the golden-file tests: numbers chosen so the outputs can be checked by hand.
/// </summary>
internal static class GoldenInputs
{
    /// <summary>
    /// A profile (SplitwiseSim's perf_model.csv columns) for Llama2-70B on H100 × 8 and A100 × 8: the prompt time is
    /// affine in the batch's prompt tokens x, exactly 10 + x × 0.078125 ms on H100 (30, 50, 90, 170 ms at 256…2048) and
    /// 20 + x × 0.125 ms on A100; a decode iteration is a flat 25 ms on H100 and 40 ms on A100.
    /// </summary>
    public const string Profile = """
        model,hardware,tensor_parallel,prompt_size,batch_size,prompt_time,token_time
        llama2-70b,h100-80gb,8,256,1,30,25
        llama2-70b,h100-80gb,8,512,1,50,25
        llama2-70b,h100-80gb,8,1024,1,90,25
        llama2-70b,h100-80gb,8,2048,1,170,25
        llama2-70b,a100-80gb,8,256,1,52,40
        llama2-70b,a100-80gb,8,512,1,84,40
        llama2-70b,a100-80gb,8,1024,1,148,40
        llama2-70b,a100-80gb,8,2048,1,276,40

        """;

    /// <summary>Eight requests over 3 s in the Azure 2023 format: overlapping prompts, a one-token request, a long decode.</summary>
    public const string Trace = """
        TIMESTAMP,ContextTokens,GeneratedTokens
        2023-11-16 18:15:46.0000000,374,4
        2023-11-16 18:15:46.0100000,1024,3
        2023-11-16 18:15:46.0200000,256,6
        2023-11-16 18:15:46.5000000,100,1
        2023-11-16 18:15:47.0000000,2048,10
        2023-11-16 18:15:47.0200000,512,5
        2023-11-16 18:15:47.0300000,64,40
        2023-11-16 18:15:49.0000000,300,2

        """;

    /// <summary>Three turns of one conversation in Mooncake's format: each turn's hash chain repeats the previous turn's
    /// blocks of 512 tokens, so the vLLM engine's prefix cache finds 1024 and then 1536 tokens.</summary>
    public const string Turns = """
        {"timestamp": 0, "input_length": 1100, "output_length": 20, "hash_ids": [1, 2, 3]}
        {"timestamp": 60000, "input_length": 1700, "output_length": 20, "hash_ids": [1, 2, 4, 5]}
        {"timestamp": 60500, "input_length": 2300, "output_length": 20, "hash_ids": [1, 2, 4, 6, 7]}

        """;

    /// <summary>Writes <paramref name="text"/> (with \n line ends) to <paramref name="dir"/>/<paramref name="name"/>.</summary>
    public static string Write(string dir, string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text.ReplaceLineEndings("\n"));
        return path;
    }
}
