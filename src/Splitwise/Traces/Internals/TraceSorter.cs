namespace Splitwise.Traces.Internals;

/// <summary>Stable sort of the trace columns by arrival.</summary>
internal static class TraceSorter
{
    /// <summary>Sorts the first <paramref name="count"/> rows by arrival; equal arrivals keep their order. O(n log n), three extra arrays.</summary>
    public static void StableSortByArrival(long[] arrivals, int[] inputs, int[] outputs, int count)
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
    }
}
