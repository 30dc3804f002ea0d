namespace Splitwise.Tests.Reports;

/// <summary>
/// Golden files under <c>tests/Splitwise.Tests/Reports/Fixtures/</c>: a test compares its output with the file, and
/// <c>SPLITWISE_UPDATE_GOLDEN=1 dotnet test …</c> rewrites the file instead (review the diff, then commit it).
/// </summary>
internal static class Golden
{
    public static bool Updating => Environment.GetEnvironmentVariable("SPLITWISE_UPDATE_GOLDEN") == "1";

    public static void Check(string name, string actual)
    {
        string path = Path.Combine(FixturesDir(), name);
        if (Updating)
        {
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"missing golden file {path}; run the test with SPLITWISE_UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
    }

    private static string FixturesDir()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "Splitwise.Tests", "Reports", "Fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Splitwise.Tests/Reports/Fixtures not found above " + AppContext.BaseDirectory);
    }
}
