using System.Globalization;
using System.Text;
using Splitwise.Reports;

namespace Splitwise.Tests;

/// <summary>
/// Golden files under <c>tests/Splitwise.Tests/Fixtures/</c>: a test compares an output with its file, line by line,
/// and fails on the first differing line showing both sides. <c>SPLITWISE_UPDATE_GOLDEN=1 dotnet test …</c> rewrites
/// the files instead (review the diff, then commit it). CONTRIBUTING.md describes the convention.
/// </summary>
internal static class Golden
{
    public const string UpdateVariable = "SPLITWISE_UPDATE_GOLDEN";

    public static bool Updating => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    /// <summary>Compares <paramref name="actual"/> with <c>Fixtures/<paramref name="name"/></c> (line endings aside).</summary>
    public static void Check(string name, string actual)
    {
        string path = Path.Combine(FixturesDir(), name.Replace('/', Path.DirectorySeparatorChar));
        actual = actual.ReplaceLineEndings("\n");
        if (Updating)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"missing golden file {path}; run the test with {UpdateVariable}=1 to create it");
        if (Difference(File.ReadAllText(path).ReplaceLineEndings("\n"), actual) is { } diff)
        {
            Assert.Fail($"{name} differs from its golden file {path}\n{diff}\nIf the change is intended, rerun with {UpdateVariable}=1 and commit the new file.");
        }
    }

    /// <summary>The first differing line of two texts, both sides; null when they are equal.</summary>
    internal static string? Difference(string expected, string actual)
    {
        if (expected == actual)
        {
            return null;
        }

        string[] want = expected.Split('\n'), got = actual.Split('\n');
        int n = Math.Min(want.Length, got.Length), line = 0;
        while (line < n && want[line] == got[line])
        {
            line++;
        }

        string Side(string[] lines) => line < lines.Length ? lines[line] : "(end of file)";
        return string.Create(CultureInfo.InvariantCulture, $"first difference at line {line + 1}:\n  golden: {Side(want)}\n  actual: {Side(got)}");
    }

    /// <summary>Figure data as text: every figure, series and its size, and every 50th point (and the last), to six
    /// significant digits — what a report draws, without the platform's fonts and rasteriser.</summary>
    public static string Describe(IReadOnlyList<Figure> figures)
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        foreach (Figure f in figures)
        {
            sb.Append(ci, $"figure {f.Id} | {f.Title} | x: {f.XLabel} | y: {f.YLabel}{(f.YIsPercent ? " | percent" : "")}{(f.XMax is { } m ? $" | xmax {m:G6}" : "")}\n");
            foreach (FigureSeries s in f.Series)
            {
                sb.Append(ci, $"  series {s.Label} | {s.Kind} | {s.X.Length} points{(s.Emphasis ? " | emphasis" : "")}\n   ");
                for (int i = 0; i < s.X.Length; i++)
                {
                    if (i % 50 == 0 || i == s.X.Length - 1)
                    {
                        sb.Append(ci, $" ({s.X[i]:G6}, {s.Y[i]:G6})");
                    }
                }

                sb.Append('\n');
            }
        }

        return sb.ToString();
    }

    private static string FixturesDir()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "Splitwise.Tests", "Fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Splitwise.Tests/Fixtures not found above " + AppContext.BaseDirectory);
    }
}
