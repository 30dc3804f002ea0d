using System.Runtime.CompilerServices;

namespace Splitwise.Simulation;

/// <summary>A growable FIFO ring of request slots (no allocation once grown).</summary>
internal sealed class IntQueue
{
    private int[] _items = new int[16];
    private int _head;

    public int Count { get; private set; }

    public int Peek() => _items[_head];

    /// <summary>The i-th item from the head.</summary>
    public int this[int i] => _items[(_head + i) & (_items.Length - 1)];

    public void Enqueue(int value)
    {
        if (Count == _items.Length)
        {
            int[] bigger = new int[_items.Length * 2];
            for (int i = 0; i < Count; i++)
            {
                bigger[i] = this[i];
            }

            _items = bigger;
            _head = 0;
        }

        _items[(_head + Count) & (_items.Length - 1)] = value;
        Count++;
    }

    /// <summary>Puts <paramref name="value"/> at the head (vLLM's <c>prepend_request</c> for a preempted request).</summary>
    public void PushFront(int value)
    {
        Enqueue(value); // grows if needed, then rotates the new tail to the head
        Count--;
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = value;
        Count++;
    }

    public int Dequeue()
    {
        int value = _items[_head];
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return value;
    }
}

/// <summary>A growable list of request slots.</summary>
internal sealed class IntList
{
    private int[] _items = new int[16];

    public int Count { get; private set; }

    public int this[int i]
    {
        get => _items[i];
        set => _items[i] = value;
    }

    public Span<int> AsSpan() => _items.AsSpan(0, Count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int value)
    {
        int[] items = _items;
        int count = Count;
        if ((uint)count < (uint)items.Length)
        {
            items[count] = value;
            Count = count + 1;
            return;
        }

        AddGrowing(value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddGrowing(int value)
    {
        Array.Resize(ref _items, _items.Length * 2);
        _items[Count++] = value;
    }

    /// <summary>Appends <paramref name="values"/> (one block copy).</summary>
    public void AddRange(ReadOnlySpan<int> values)
    {
        if (Count + values.Length > _items.Length)
        {
            Array.Resize(ref _items, Math.Max(_items.Length * 2, Count + values.Length));
        }

        values.CopyTo(_items.AsSpan(Count));
        Count += values.Length;
    }

    /// <summary>Inserts <paramref name="value"/> before position <paramref name="index"/> (O(count)).</summary>
    public void Insert(int index, int value)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items.AsSpan(index, Count - index).CopyTo(_items.AsSpan(index + 1));
        _items[index] = value;
        Count++;
    }

    /// <summary>Removes the first occurrence of <paramref name="value"/>, if any (O(count)).</summary>
    public bool Remove(int value)
    {
        int i = _items.AsSpan(0, Count).IndexOf(value);
        if (i < 0)
        {
            return false;
        }

        RemoveAt(i);
        return true;
    }

    /// <summary>Removes the item at <paramref name="index"/> (O(count)).</summary>
    public void RemoveAt(int index)
    {
        Count--;
        _items.AsSpan(index + 1, Count - index).CopyTo(_items.AsSpan(index));
    }

    public void Clear() => Count = 0;

    /// <summary>Keeps the first <paramref name="count"/> items.</summary>
    public void Truncate(int count) => Count = count;
}
