using System.Diagnostics;
using System.Text.Json;

namespace Splitwise.Tests.Serving;

/// <summary>
/// A real client: the official OpenAI Node SDK (npm <c>openai</c>, installed by <c>scripts/install-openai-sdk.sh</c>)
/// runs completions, streaming chat with usage, model listing and error cases against <c>serve</c>
/// (<c>scripts/openai-sdk-check.mjs</c>). Needs node; fails under CI when it cannot run, skips elsewhere.
/// </summary>
public class OpenAiSdkTests
{
    private static string? Repo()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "scripts", "openai-sdk-check.mjs")))
            {
                return d.FullName;
            }
        }

        return null;
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using Process process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static void Unavailable(string why)
    {
        if (TestData.InCi)
        {
            Assert.Fail(why + " — required under CI");
        }

        Assert.Skip(why + " — skipped outside CI");
    }

    [Fact]
    public async Task The_official_openai_node_sdk_works_against_serve()
    {
        string? repo = Repo();
        if (repo is null)
        {
            Unavailable("scripts/openai-sdk-check.mjs not found");
            return;
        }

        (int installed, _, string installErr) = await RunAsync("bash", Path.Combine(repo, "scripts", "install-openai-sdk.sh"));
        if (installed != 0)
        {
            Unavailable("scripts/install-openai-sdk.sh failed: " + installErr.Trim());
        }

        await using ServedCluster served = await ServingFixtures.ServeAsync();
        (int code, string stdout, string stderr) = await RunAsync("node", Path.Combine(repo, "scripts", "openai-sdk-check.mjs"), served.Server.BaseAddress.ToString(), "llama2-70b");
        Assert.True(code == 0, stderr);
        JsonElement r = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("llama2-70b", r.GetProperty("models")[0].GetProperty("id").GetString());
        Assert.Equal(4096, r.GetProperty("models")[0].GetProperty("max_model_len").GetInt32());
        Assert.Equal("llama2-70b", r.GetProperty("retrieved").GetString());

        JsonElement completion = r.GetProperty("completion");
        Assert.Equal(5, completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", completion.GetProperty("finish").GetString());
        Assert.True(completion.GetProperty("text_chars").GetInt32() > 0);

        JsonElement chat = r.GetProperty("chat_stream");
        Assert.Equal(7, chat.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(Splitwise.Tokens.TextTokenizer.Create("cl100k_base").Count("Hello there, how are you?"), chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("length", chat.GetProperty("finish").GetString());
        Assert.True(chat.GetProperty("content_chars").GetInt32() > 0);

        Assert.Equal("BadRequestError", r.GetProperty("unknown_model").GetProperty("error").GetString());
        Assert.Equal("model_not_found", r.GetProperty("unknown_model").GetProperty("code").GetString());
        Assert.Equal(400, r.GetProperty("too_long").GetProperty("status").GetInt32());
        Assert.Equal("context_length_exceeded", r.GetProperty("too_long").GetProperty("code").GetString());
        Assert.Equal("NotFoundError", r.GetProperty("missing_model").GetProperty("error").GetString());
    }
}
