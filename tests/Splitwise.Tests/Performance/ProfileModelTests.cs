using System.Globalization;
using Splitwise.Performance;

namespace Splitwise.Tests.Performance;

public class ProfileModelTests
{
    private static string WriteProfile(string body)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("profile").FullName, "perf_model.csv");
        File.WriteAllText(path, "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,e2e_time,tensor_parallel\n" + body);
        return path;
    }

    [Fact]
    public void Curves_use_the_median_per_batch_token_count_like_pandas()
    {
        // x = prompt_size × batch_size: 256×1 and 128×2 share x = 256; four samples there, median of an even count.
        string path = WriteProfile(
            "m,g,128,1,128,0,0,10,1,0,8\n" +
            "m,g,256,1,128,0,0,20,2,0,8\n" +
            "m,g,256,1,256,0,0,22,4,0,8\n" +
            "m,g,128,2,128,0,0,30,3,0,8\n" +
            "m,g,256,1,128,0,0,100,9,0,8\n" +
            "m,g,512,1,128,0,0,40,5,0,8\n");
        ProfileCurve curve = ProfileTable.Load(path).Get("m", "g", 8);
        Assert.Equal([128L, 256, 512], curve.X);
        Assert.Equal([10.0, 26, 40], curve.PromptMs); // median(20, 22, 30, 100) = 26
        Assert.Equal([1.0, 3.5, 5], curve.TokenMs);   // median(2, 4, 3, 9) = 3.5
    }

    [Fact]
    public void Interpolation_and_extrapolation_match_scipy_interp1d()
    {
        long[] x = [128, 256, 512];
        double[] y = [10, 26, 40];
        Assert.Equal(10, ProfileCurve.Interpolate(x, y, 128));
        Assert.Equal(26, ProfileCurve.Interpolate(x, y, 256));
        Assert.Equal(18, ProfileCurve.Interpolate(x, y, 192));               // halfway on the first segment
        Assert.Equal(10 + ((1 - 128) * 16.0 / 128), ProfileCurve.Interpolate(x, y, 1)); // below: first segment extended
        Assert.Equal(40 + (512 * 14.0 / 256), ProfileCurve.Interpolate(x, y, 1024));    // above: last segment extended
    }

    [Fact]
    public void Batch_costs_follow_splitwise_sim_rules()
    {
        string path = WriteProfile("m,g,128,1,128,0,0,10,3,0,8\nm,g,256,1,128,0,0,26,2,0,8\nm,g,512,1,128,0,0,40,1.5,0,8\n");
        var model = new ProfilePerformanceModel(ProfileTable.Load(path).Get("m", "g", 8));
        // Prompt-only: prompt curve at Σ prompt tokens.
        Assert.Equal(18_000_000, model.IterationNanoseconds(new BatchShape(192, 2, 0, 0)));
        // Decode-only: token curve at the number of decodes (x = 4, extrapolated below 128).
        Assert.Equal(3_968_750, model.IterationNanoseconds(new BatchShape(0, 0, 4, 9999))); // 3 + (4 − 128) × (−1/128) ms
        // Mixed: prompt curve at Σ prompt + decodes, × 1.1.
        Assert.Equal((long)Math.Round(26 * 1.1 * 1e6), model.IterationNanoseconds(new BatchShape(250, 1, 6, 1000)));
        Assert.Equal(0, model.IterationNanoseconds(new BatchShape(0, 0, 0, 0)));
    }

    [Fact]
    public void Real_profile_llama_h100_tp8_matches_hand_computed_medians()
    {
        ProfileTable table = ProfileTable.Load(TestData.PerfModel);
        ProfileCurve curve = table.Get("llama2-70b", "h100-80gb", 8);
        Assert.Equal([128L, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768], curve.X);

        // Independent reduction of the raw rows at x = 2048 (2048×1 and 512×4).
        var prompt = new List<double>();
        foreach (string line in File.ReadLines(TestData.PerfModel).Skip(1))
        {
            string[] c = line.Split(',');
            if (c[0] == "llama2-70b" && c[1] == "h100-80gb" && c[10] == "8"
                && int.Parse(c[2], CultureInfo.InvariantCulture) * int.Parse(c[3], CultureInfo.InvariantCulture) == 2048)
            {
                prompt.Add(double.Parse(c[7], CultureInfo.InvariantCulture));
            }
        }

        prompt.Sort();
        double median = prompt.Count % 2 == 1 ? prompt[prompt.Count / 2] : (prompt[(prompt.Count / 2) - 1] + prompt[prompt.Count / 2]) / 2;
        Assert.Equal(median, curve.PromptMs[Array.IndexOf(curve.X, 2048L)]);
        Assert.Contains(table.Curves, c => c.Key.TensorParallel == 2);
    }

    [Fact]
    public void Missing_configuration_names_what_the_profile_has()
    {
        ProfileTable table = ProfileTable.Load(WriteProfile("m,g,128,1,128,0,0,10,1,0,8\nm,g,256,1,128,0,0,26,3,0,8\n"));
        var ex = Assert.Throws<SplitwiseException>(() => table.Get("m", "g", 4));
        Assert.Contains("m/g/tp8", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
    }

    [Fact]
    public void Bad_rows_report_file_line_and_column()
    {
        string path = WriteProfile("m,g,128,1,128,0,0,10,1,0,8\nm,g,abc,1,128,0,0,26,3,0,8\n");
        var ex = Assert.Throws<SplitwiseException>(() => ProfileTable.Load(path));
        Assert.Contains($"{path}:3:3:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("prompt_size", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Leading_comment_lines_are_metadata_and_line_numbers_still_count_them()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("profile").FullName, "profile.csv");
        File.WriteAllText(path,
            "# splitwise profile of a live server: not a key\n" +
            "# server: http://127.0.0.1:8080/v1/completions\n" +
            "# date: 2026-12-01T23:00:00Z\n" +
            "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,e2e_time,tensor_parallel\n" +
            "m,g,128,1,16,0,0,10,1,0,1\n" +
            "m,g,256,1,16,0,0,20,2,0,1\n");
        ProfileTable table = ProfileTable.Load(path);
        Assert.Equal(2, table.Rows);
        Assert.Equal("http://127.0.0.1:8080/v1/completions", table.Metadata["server"]);
        Assert.Equal("2026-12-01T23:00:00Z", table.Metadata["date"]);
        Assert.Equal(2, table.Metadata.Count);
        Assert.Equal([10.0, 20], table.Get("m", "g", 1).PromptMs);

        File.AppendAllText(path, "m,g,512,x,16,0,0,20,2,0,1\n");
        var ex = Assert.Throws<SplitwiseException>(() => ProfileTable.Load(path));
        Assert.Contains($"{path}:7:4:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Splitwise_sims_file_has_no_metadata()
    {
        ProfileTable table = ProfileTable.Load(TestData.PerfModel);
        Assert.Empty(table.Metadata);
        Assert.Equal(1260, table.Rows);
    }
}
