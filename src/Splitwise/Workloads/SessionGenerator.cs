using Splitwise.Common;

namespace Splitwise.Workloads;

/// <summary>
/// Generates multi-turn conversations with prefix hash chains (<c>generate --sessions</c>), streaming requests in
/// arrival order: the turns of concurrent sessions interleave, and memory holds only the sessions in flight.
/// </summary>
/// <remarks>
/// <para>Sessions arrive by the spec's renewal process (Poisson or Gamma) at <see cref="WorkloadSpec.Rate"/> sessions
/// per second. A session draws its number of turns and its system prompt (one of <see cref="SessionSpec.SystemPrompts"/>,
/// uniformly) when it starts; turn 1 arrives at the session's arrival, turn k + 1 one think time after turn k. Turn 1's
/// prompt is the system prompt + the user's tokens; turn k + 1's is turn k's prompt + turn k's answer + new user
/// tokens. User tokens and answer lengths are drawn per turn: an (input, output) pair from the <c>--like</c> trace
/// (the input is the new user tokens), or from the two distributions.</para>
/// <para>Hash chains model the content: block j of a prompt (tokens [512j, 512(j+1))) has one id per distinct content.
/// A block wholly inside system prompt p has the same id in every session using p; a session's later turns reuse its
/// earlier turns' full blocks (their prompt is a prefix); every other block — including a partial last block, whose
/// content changes when the next turn extends it — gets a fresh id. Ids count up from 0 (system-prompt blocks first),
/// as Mooncake's do. So equal ids ⇔ equal prefix, and an infinite prefix cache hits exactly the system-prompt blocks
/// and the previous turn's full blocks.</para>
/// <para>Determinism: one seeded stream per purpose (<c>session-arrivals</c>, <c>turns</c>, <c>think-times</c>,
/// <c>system-prompts</c>, <c>sizes</c>); events are taken in (time, sequence) order with integer ticks, so the same
/// spec gives the same bytes. <see cref="WorkloadSpec.Count"/> counts requests (the first N in arrival order);
/// <see cref="WorkloadSpec.Duration"/> keeps requests arriving within it.</para>
/// <para>Cost: O(log s) per request for s sessions in flight; memory O(s × blocks per session), reused across sessions.</para>
/// </remarks>
public static class SessionGenerator
{
    public static WorkloadSummary Generate(WorkloadSpec spec, TraceRowWriter writer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(writer);
        spec.Validate();
        SessionSpec sessions = spec.Sessions ?? throw new ArgumentException("the spec has no sessions", nameof(spec));
        var state = new Sessions(spec, sessions);
        writer.WriteHeader();
        long limit = spec.Duration is { } d ? d.Ticks : long.MaxValue;
        long count = spec.Count ?? long.MaxValue;
        long resolution = TraceRowWriter.Resolution(spec.Format);
        long startAbs = spec.Start.UtcTicks;
        long rows = 0, first = 0, last = 0;
        while (rows < count && state.Next(limit, out int slot, out long at))
        {
            long printed = startAbs + at;
            printed -= printed % resolution;
            printed -= startAbs;
            ReadOnlySpan<long> chain = state.Turn(slot, out int input, out int output);
            writer.WriteRow(printed, input, output, chain);
            if (rows == 0)
            {
                first = printed;
            }

            last = printed;
            rows++;
            state.Schedule(slot, at);
        }

        writer.Flush();
        return new WorkloadSummary(rows, first, last) { Sessions = state.Started, PeakSessions = state.Peak };
    }

    /// <summary>The sessions in flight, struct of arrays by slot, and the event queue of their next turns.</summary>
    private sealed class Sessions
    {
        private readonly SessionSpec _spec;
        private readonly RandomStream _arrivals, _turns, _think, _system, _sizes;
        private readonly int[]? _likeIn, _likeOut;
        private readonly SizeDistribution? _input, _output;
        private readonly bool _gamma;
        private readonly double _shape, _meanGapTicks;
        private readonly int _blockTokens, _systemBlocks;
        private readonly PriorityQueue<int, (long Time, long Sequence)> _queue = new();
        private readonly Stack<int> _free = new();
        private long _sequence;
        private long _nextSession;
        private bool _sessionsOver;
        private long _nextId;

        // Per slot: turns left, current prompt length, the previous answer, the system prompt, and the ids of the
        // prompt's full blocks so far (the slot's array is kept and reused by the next session in the slot).
        private int[] _turnsLeft = new int[64];
        private int[] _prompt = new int[64];
        private int[] _answer = new int[64];
        private int[] _systemPrompt = new int[64];
        private int[] _fullBlocks = new int[64];
        private long[][] _blocks = new long[64][];
        private int _slots;

        public Sessions(WorkloadSpec spec, SessionSpec sessions)
        {
            _spec = sessions;
            ulong seed = spec.Seed;
            _arrivals = RandomStream.Derive(seed, "session-arrivals");
            _turns = RandomStream.Derive(seed, "turns");
            _think = RandomStream.Derive(seed, "think-times");
            _system = RandomStream.Derive(seed, "system-prompts");
            _sizes = RandomStream.Derive(seed, "sizes");
            _likeIn = spec.LikeInputs;
            _likeOut = spec.LikeOutputs;
            _input = spec.Input;
            _output = spec.Output;
            _gamma = spec.Arrival == ArrivalKind.Gamma;
            _shape = 1 / (spec.Cv * spec.Cv);
            _meanGapTicks = TimeSpan.TicksPerSecond / spec.Rate;
            _blockTokens = sessions.BlockTokens;
            _systemBlocks = sessions.SystemPromptTokens / sessions.BlockTokens;
            _nextId = (long)_systemBlocks * sessions.SystemPrompts;
            _nextSession = Gap();
        }

        public long Started { get; private set; }

        public int Peak { get; private set; }

        private long Gap() => (long)Math.Round((_gamma ? _arrivals.NextGamma(_shape) / _shape : _arrivals.NextExponential()) * _meanGapTicks);

        /// <summary>The next turn in arrival order (starting sessions as their time comes); false when none is left within <paramref name="limit"/>.</summary>
        public bool Next(long limit, out int slot, out long at)
        {
            while (!_sessionsOver && (_queue.Count == 0 || _queue.TryPeek(out _, out var head) && _nextSession <= head.Time))
            {
                if (_nextSession > limit)
                {
                    _sessionsOver = true;
                    break;
                }

                Start(_nextSession);
                _nextSession += Gap();
            }

            if (!_queue.TryDequeue(out slot, out var when) || when.Time > limit)
            {
                at = 0;
                return false;
            }

            at = when.Time;
            return true;
        }

        private void Start(long at)
        {
            int slot = _free.Count > 0 ? _free.Pop() : NewSlot();
            _turnsLeft[slot] = _spec.Turns.Sample(_turns);
            int system = _spec.SystemPrompts > 1 ? (int)_system.NextInt64(_spec.SystemPrompts) : 0;
            _systemPrompt[slot] = system;
            _prompt[slot] = 0;
            _answer[slot] = -1; // no turn yet
            long[] blocks = EnsureBlocks(slot, _systemBlocks + 1);
            long baseId = (long)system * _systemBlocks;
            for (int j = 0; j < _systemBlocks; j++)
            {
                blocks[j] = baseId + j;
            }

            _fullBlocks[slot] = _systemBlocks;
            _queue.Enqueue(slot, (at, _sequence++));
            Started++;
            Peak = Math.Max(Peak, _slots - _free.Count);
        }

        private int NewSlot()
        {
            if (_slots == _turnsLeft.Length)
            {
                int n = _slots * 2;
                Array.Resize(ref _turnsLeft, n);
                Array.Resize(ref _prompt, n);
                Array.Resize(ref _answer, n);
                Array.Resize(ref _systemPrompt, n);
                Array.Resize(ref _fullBlocks, n);
                Array.Resize(ref _blocks, n);
            }

            _blocks[_slots] = new long[16];
            return _slots++;
        }

        private long[] EnsureBlocks(int slot, int length)
        {
            long[] blocks = _blocks[slot];
            if (blocks.Length < length)
            {
                Array.Resize(ref blocks, Math.Max(length, blocks.Length * 2));
                _blocks[slot] = blocks;
            }

            return blocks;
        }

        /// <summary>Draws the turn's sizes, extends the session's prompt and returns the request with its chain (valid until the next call).</summary>
        public ReadOnlySpan<long> Turn(int slot, out int input, out int output)
        {
            int user;
            if (_likeIn is not null)
            {
                int k = (int)_sizes.NextInt64(_likeIn.Length);
                user = _likeIn[k];
                output = _likeOut![k];
            }
            else
            {
                user = _input!.Sample(_sizes);
                output = _output!.Sample(_sizes);
            }

            long previous = _answer[slot] < 0 ? _spec.SystemPromptTokens : (long)_prompt[slot] + _answer[slot];
            long length = previous + user;
            input = (int)Math.Min(length, int.MaxValue);
            if (length > _spec.MaxInputTokens)
            {
                // The context window is full: this turn is the session's last, its prompt cut to the window.
                input = _spec.MaxInputTokens;
                _turnsLeft[slot] = 1;
            }

            _prompt[slot] = input;
            _answer[slot] = output;
            int b = _blockTokens;
            int full = input / b;
            bool partial = input % b != 0;
            long[] blocks = EnsureBlocks(slot, full + 1);
            int known = Math.Min(_fullBlocks[slot], full);
            for (int j = known; j < full; j++)
            {
                blocks[j] = _nextId++;
            }

            _fullBlocks[slot] = Math.Max(_fullBlocks[slot], full);
            if (partial)
            {
                // Its own id: the next turn extends this block, changing its content.
                blocks[full] = _nextId++;
            }

            return blocks.AsSpan(0, full + (partial ? 1 : 0));
        }

        /// <summary>Queues the session's next turn one think time after <paramref name="at"/>, or frees its slot.</summary>
        public void Schedule(int slot, long at)
        {
            if (--_turnsLeft[slot] > 0)
            {
                _queue.Enqueue(slot, (at + _spec.ThinkTime.SampleTicks(_think), _sequence++));
            }
            else
            {
                _free.Push(slot);
            }
        }
    }
}
