using Splitwise.Simulation.Paging;
using Splitwise.Traces;

namespace Splitwise.Tests.Traces;

public class PrefixHashChainTests
{
    private static int[] Tokens(int seed, int count) => [.. Enumerable.Range(0, count).Select(i => (int)((((uint)seed * 2654435761u) + ((uint)i * 40503u)) % 32000))];

    [Fact]
    public void One_id_per_full_block_and_none_for_a_partial_one() =>
        Assert.Equal([0, 0, 1, 1, 2], [.. ((int[])[0, 511, 512, 1023, 1024]).Select(n => PrefixHashChain.FromTokens(Tokens(1, n)).Length)]);

    [Fact]
    public void Prompts_share_ids_exactly_as_far_as_they_share_whole_blocks()
    {
        int[] a = [.. Tokens(1, 1024), .. Tokens(2, 700)];
        int[] b = [.. Tokens(1, 1024), .. Tokens(3, 600)];
        int[] c = [.. a];
        c[700] ^= 1; // a different token inside block 1
        long[] ca = PrefixHashChain.FromTokens(a), cb = PrefixHashChain.FromTokens(b), cc = PrefixHashChain.FromTokens(c);
        Assert.Equal(3, ca.Length);
        Assert.Equal(ca[..2], cb[..2]);
        Assert.NotEqual(ca[2], cb[2]);
        Assert.Equal(ca[0], cc[0]);
        Assert.NotEqual(ca[1], cc[1]);
        Assert.NotEqual(ca[2], cc[2]); // a chain: every block after a difference differs too
    }

    [Fact]
    public void Fed_in_pieces_it_is_the_same_chain_and_its_blocks_are_the_engines()
    {
        int[] tokens = Tokens(9, 1500);
        var chain = new PrefixHashChain();
        chain.Add(tokens[..300]);
        chain.Add(tokens[300..]);
        Assert.Equal(PrefixHashChain.FromTokens(tokens), chain.ToArray());
        Assert.Equal(BlockTables.ChainBlockTokens, PrefixHashChain.BlockTokens);
    }
}
