using System.Text;
using Splitwise.IO;
using Splitwise.Tests.Traces;

namespace Splitwise.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void Utf8_and_byte_writes_give_the_text_writer_s_bytes_replace_the_file_and_leave_no_temporary()
    {
        using var dir = new TempDir();
        string text = "<svg>π ≤ 1 → ✓</svg>\n" + new string('x', 200_000); // past a pooled buffer's first size and a stream buffer
        string viaWriter = Path.Combine(dir.Path, "a.svg"), viaUtf8 = Path.Combine(dir.Path, "b.svg"), viaBytes = Path.Combine(dir.Path, "c.png");
        File.WriteAllText(viaUtf8, "an older, longer file that must be replaced whole " + new string('y', 300_000));

        AtomicFile.WriteAllText(viaWriter, text);
        AtomicFile.WriteAllUtf8(viaUtf8, text);
        AtomicFile.WriteAllBytes(viaBytes, Encoding.UTF8.GetBytes(text).AsSpan(3));

        Assert.Equal(File.ReadAllBytes(viaWriter), File.ReadAllBytes(viaUtf8));
        Assert.Equal(new UTF8Encoding(false).GetBytes(text), File.ReadAllBytes(viaUtf8)); // no BOM
        Assert.Equal(Encoding.UTF8.GetBytes(text)[3..], File.ReadAllBytes(viaBytes));
        Assert.Equal(["a.svg", "b.svg", "c.png"], Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order());
    }
}
