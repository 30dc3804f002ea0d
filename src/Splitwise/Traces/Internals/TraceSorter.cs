namespace Splitwise.Traces.Internals;

/// <summary>Stable sort of the trace columns by arrival.</summary>
internal static class TraceSorter
{
    /// <summary>Sorts the first <paramref name="count"/> rows by arrival; equal arrivals keep their order. O(n log n), three extra arrays.</summary>
    public static void StableSortByArrival(long[] arrivals, int[] inputs, int[] outputs, int count)
    {
        long[] none = [];
        StableSortByArrival(arrivals, inputs, outputs, count, null, ref none);
    }

    /// <summary>As above, moving each row's hash chain with it when <paramref name="hashOffsets"/> is given (ids are rebuilt in the new order).</summary>
    public static void StableSortByArrival(long[] arrivals, int[] inputs, int[] outputs, int count, int[]? hashOffsets, ref long[] hashIds)
    {
        long[] keys = arrivals.AsSpan(0, count).ToArray();
        int[] order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        Array.Sort(keys, order);

        // Array.Sort is introsort (unstable): restore file order within each run of equal arrivals.
        for (int i = 0; i < count;)
        {
            int j = i + 1;
            while (j < count && keys[j] == keys[i])
            {
                j++;
            }

            if (j - i > 1)
            {
                Array.Sort(order, i, j - i);
            }

            i = j;
        }

        int[] scratch = new int[count];
        for (int i = 0; i < count; i++)
        {
            scratch[i] = inputs[order[i]];
        }

        scratch.CopyTo(inputs, 0);
        for (int i = 0; i < count; i++)
        {
            scratch[i] = outputs[order[i]];
        }

        scratch.CopyTo(outputs, 0);
        keys.CopyTo(arrivals, 0);
        if (hashOffsets is not null)
        {
            long[] ids = new long[hashOffsets[count]];
            int[] offsets = new int[count + 1];
            int at = 0;
            for (int i = 0; i < count; i++)
            {
                int row = order[i];
                int length = hashOffsets[row + 1] - hashOffsets[row];
                Array.Copy(hashIds, hashOffsets[row], ids, at, length);
                at += length;
                offsets[i + 1] = at;
            }

            offsets.CopyTo(hashOffsets, 0);
            hashIds = ids;
        }
    }
}
