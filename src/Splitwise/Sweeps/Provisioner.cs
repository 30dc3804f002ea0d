using System.Collections.Concurrent;
using System.Numerics;
using Splitwise.Designs;
using Splitwise.Hardware;

namespace Splitwise.Sweeps;

/// <summary>What provisioning minimises.</summary>
public enum ProvisionObjective
{
    /// <summary>$/hour.</summary>
    Cost,

    /// <summary>Provisioned watts.</summary>
    Power,

    /// <summary>Machine count.</summary>
    Machines,
}

/// <summary>A provisioning question.</summary>
/// <param name="Trace">Trace name or file.</param>
/// <param name="Rate">Request rate to serve (requests/s; 0 for the trace's own timing). Ignored by the throughput searches (<c>MaxThroughput</c>).</param>
/// <param name="Designs">Designs to consider.</param>
/// <param name="Settings">Model, performance model, seed, SLOs.</param>
/// <param name="MaxMachines">Largest pool considered: machines of a baseline, or each of a Splitwise design's pools.</param>
public sealed record ProvisionRequest(string Trace, double Rate, IReadOnlyList<string> Designs, SweepSettings Settings, int MaxMachines = 200)
{
    /// <summary>Relative precision of the highest SLO-compliant rate in a throughput search.</summary>
    public double RateTolerance { get; init; } = 0.02;

    /// <summary>First rate tried by a throughput search (requests/s); it gallops up or down from there.</summary>
    public double InitialRate { get; init; } = 1;

    /// <summary>Rates above this are not tried (a throughput search reports "at least" this).</summary>
    public double MaxRate { get; init; } = 10_000;

    /// <summary>Splitwise designs under a budget: try every <c>SplitStep</c>-th prompt pool size.</summary>
    public int SplitStep { get; init; } = 1;

    /// <summary>Where designs' prices and power come from.</summary>
    public Catalog Catalog { get; init; } = Catalog.BuiltIn;
}

/// <summary>One configuration a search settled on.</summary>
/// <param name="Point">The design, sizes and rate.</param>
/// <param name="Rate">The rate it serves within the SLOs.</param>
/// <param name="DollarsPerHour">Its price.</param>
/// <param name="Watts">Its provisioned power.</param>
/// <param name="Result">Its simulation.</param>
public sealed record ProvisionChoice(SweepPoint Point, double Rate, double DollarsPerHour, double Watts, SweepResult Result)
{
    public string Design => Point.Design;
}

/// <summary>The search for one design.</summary>
/// <param name="Design">Design name.</param>
/// <param name="Best">The best configuration, or null when none is feasible within the limits.</param>
/// <param name="Simulations">Simulations this design's search ran (distinct points).</param>
/// <param name="Note">Why there is no answer, or a caveat (e.g. the rate search hit its ceiling).</param>
/// <param name="Trials">Every simulated point with its verdict, in the order the search ran them.</param>
public sealed record DesignSearch(string Design, ProvisionChoice? Best, int Simulations, string? Note, IReadOnlyList<(SweepPoint Point, bool Pass)> Trials);

/// <summary>The answer: per design and overall.</summary>
public sealed record ProvisionOutcome(IReadOnlyList<DesignSearch> Designs, ProvisionChoice? Best, int Simulations);

/// <summary>
/// Searches for the cheapest (or lowest-power, or smallest) design and size that meets the SLOs at a rate, and for
/// the highest SLO-compliant rate within a power or cost budget. The algorithms (bisection thanks to monotonicity;
/// the (P, T) staircase for Splitwise designs) and their simulation counts are described in <c>docs/sweep.md</c>.
/// </summary>
/// <remarks>
/// Monotonicity assumed: more machines (in either pool) never break an SLO that held, and a higher rate never mends
/// one that failed. Each design's search is sequential and deterministic; designs are searched in parallel. Each
/// distinct point is simulated once (memoised by key).
/// </remarks>
public static class Provisioner
{
    /// <summary>The design and size meeting all SLOs at <see cref="ProvisionRequest.Rate"/> with the least objective.</summary>
    public static ProvisionOutcome Minimize(ProvisionRequest request, ProvisionObjective objective, Func<SweepPoint, CancellationToken, SweepResult> evaluate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(evaluate);
        Validate(request);
        DesignSearch[] searches = Run(request, design =>
        {
            var s = new Search(request, design, evaluate, cancellationToken);
            return design.IsSplit ? s.MinimizeSplit(objective) : s.MinimizeBaseline(objective);
        }, cancellationToken);
        return Outcome(searches, c => Objective(c, objective), preferHigher: false);
    }

    /// <summary>Per design: the largest configuration within the budget, and the highest rate it serves within the SLOs.</summary>
    public static ProvisionOutcome MaxThroughput(ProvisionRequest request, double? budgetWatts, double? budgetDollarsPerHour, Func<SweepPoint, CancellationToken, SweepResult> evaluate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(evaluate);
        Validate(request);
        if ((budgetWatts is null) == (budgetDollarsPerHour is null))
        {
            throw SplitwiseException.Usage("--max-throughput needs exactly one budget: --budget-power W or --budget-cost USD_PER_HOUR");
        }

        if (budgetWatts is <= 0 || budgetDollarsPerHour is <= 0)
        {
            throw SplitwiseException.Usage("the budget must be positive");
        }

        DesignSearch[] searches = Run(request, design =>
        {
            var s = new Search(request, design, evaluate, cancellationToken);
            Func<int, int, double> price = budgetWatts is { } w
                ? (p, t) => design.ProvisionedWatts(p + t, p, t)
                : (p, t) => design.DollarsPerHour(p + t, p, t);
            return s.MaxThroughput(budgetWatts ?? budgetDollarsPerHour!.Value, price);
        }, cancellationToken);
        return Outcome(searches, c => c.Rate, preferHigher: true);
    }

    /// <summary>
    /// Per design: the highest SLO-compliant rate of each configuration <paramref name="configurations"/> lists (a
    /// baseline's machines as (N, 0), a Splitwise design's pools as (P, T)), and the best of them — e.g. SplitwiseSim's
    /// iso-power and iso-cost clusters (<see cref="IsoClusters"/>).
    /// </summary>
    public static ProvisionOutcome MaxThroughput(ProvisionRequest request, Func<DesignShape, IReadOnlyList<(int Prompt, int Token)>> configurations,
        Func<SweepPoint, CancellationToken, SweepResult> evaluate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(configurations);
        ArgumentNullException.ThrowIfNull(evaluate);
        Validate(request);
        DesignSearch[] searches = Run(request, design => new Search(request, design, evaluate, cancellationToken).MaxThroughput(configurations(design)), cancellationToken);
        return Outcome(searches, c => c.Rate, preferHigher: true);
    }

    private static void Validate(ProvisionRequest request)
    {
        if (request.Designs.Count == 0)
        {
            throw SplitwiseException.Usage("no designs to search; pass --design NAME (repeatable) or leave it out for all of: " + SplitwiseDesignCatalog.Names);
        }

        if (request.MaxMachines < 1)
        {
            throw SplitwiseException.Usage("--max-machines must be at least 1");
        }

        if (!(request.RateTolerance > 0 && request.RateTolerance < 1))
        {
            throw SplitwiseException.Usage("--rate-tolerance must be in (0, 1), e.g. 0.02");
        }
    }

    private static DesignSearch[] Run(ProvisionRequest request, Func<DesignShape, DesignSearch> search, CancellationToken cancellationToken)
    {
        DesignShape[] designs = request.Designs.Select(d => SplitwiseDesignCatalog.Get(d, request.Catalog, "--design")).Distinct().ToArray();
        var results = new DesignSearch[designs.Length];
        Parallel.For(0, designs.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => results[i] = search(designs[i]));
        return results;
    }

    private static ProvisionOutcome Outcome(DesignSearch[] searches, Func<ProvisionChoice, double> score, bool preferHigher)
    {
        ProvisionChoice? best = null;
        foreach (DesignSearch s in searches)
        {
            if (s.Best is { } c && (best is null || (preferHigher ? score(c) > score(best) : score(c) < score(best))))
            {
                best = c;
            }
        }

        return new ProvisionOutcome(searches, best, searches.Sum(s => s.Simulations));
    }

    private static double Objective(ProvisionChoice c, ProvisionObjective objective) => objective switch
    {
        ProvisionObjective.Cost => c.DollarsPerHour,
        ProvisionObjective.Power => c.Watts,
        _ => c.Point.Machines,
    };

    /// <summary>One design's search: memoised simulations and the trial log.</summary>
    private sealed class Search(ProvisionRequest request, DesignShape design, Func<SweepPoint, CancellationToken, SweepResult> evaluate, CancellationToken cancellationToken)
    {
        private readonly ConcurrentDictionary<string, SweepResult> _memo = new(StringComparer.Ordinal);
        private readonly List<(SweepPoint, bool)> _trials = [];
        private readonly int _max = request.MaxMachines;

        private SweepPoint Point(int prompt, int token, double rate) => design.IsSplit
            ? SweepPoint.Split(design.Name, prompt, token, request.Trace, rate, request.Settings)
            : SweepPoint.Baseline(design.Name, prompt, request.Trace, rate, request.Settings);

        private SweepResult Eval(SweepPoint point)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_memo.TryGetValue(point.Key, out SweepResult? hit))
            {
                return hit;
            }

            SweepResult r = evaluate(point, cancellationToken);
            _memo[point.Key] = r;
            _trials.Add((point, r.SloPass));
            return r;
        }

        private bool Feasible(int prompt, int token, double rate) => Eval(Point(prompt, token, rate)).SloPass;

        private ProvisionChoice Choice(int prompt, int token, double rate)
        {
            SweepPoint p = Point(prompt, token, rate);
            return new ProvisionChoice(p, rate, design.DollarsPerHour(p.Machines, p.PromptMachines, p.TokenMachines),
                design.ProvisionedWatts(p.Machines, p.PromptMachines, p.TokenMachines), Eval(p));
        }

        private DesignSearch Done(ProvisionChoice? best, string? note) => new(design.Name, best, _trials.Count, note, _trials.ToArray());

        /// <summary>Smallest n in (lo, hi] with ok(n), given ok(hi) holds and ok(lo) does not (lo may be a virtual 0).</summary>
        private static int Bisect(int lo, int hi, Func<int, bool> ok)
        {
            while (hi - lo > 1)
            {
                int mid = lo + ((hi - lo) / 2);
                if (ok(mid))
                {
                    hi = mid;
                }
                else
                {
                    lo = mid;
                }
            }

            return hi;
        }

        public DesignSearch MinimizeBaseline(ProvisionObjective objective)
        {
            _ = objective; // one machine type: every objective is minimised by the fewest machines
            if (!Feasible(_max, 0, request.Rate))
            {
                return Done(null, $"misses the SLOs even with {_max} machines (raise --max-machines?)");
            }

            int n = Bisect(0, _max, m => Feasible(m, 0, request.Rate));
            return Done(Choice(n, 0, request.Rate), null);
        }

        public DesignSearch MinimizeSplit(ProvisionObjective objective)
        {
            (double wp, double wt) = objective switch
            {
                ProvisionObjective.Cost => (design.Prompt.DollarsPerHour, design.Token!.Value.DollarsPerHour),
                ProvisionObjective.Power => (design.Prompt.ProvisionedWatts, design.Token!.Value.ProvisionedWatts),
                _ => (1.0, 1.0),
            };
            double rate = request.Rate;
            if (!Feasible(_max, _max, rate))
            {
                return Done(null, $"misses the SLOs even with {_max} prompt + {_max} token machines (raise --max-machines?)");
            }

            // Lower bounds: no prompt pool smaller than pMin works even with the largest token pool, and vice versa.
            int pMin = Bisect(0, _max, p => Feasible(p, _max, rate));
            int tMin = Bisect(0, _max, t => Feasible(_max, t, rate));
            (int P, int T) best = Cost(pMin, _max) <= Cost(_max, tMin) ? (pMin, _max) : (_max, tMin);
            double bestCost = Cost(best.P, best.T);

            // Staircase: T*(p) never increases with p. For each p from pMin, only t with cost below the best can help.
            int tHi = _max;
            for (int p = pMin; p <= _max; p++)
            {
                if (Cost(p, tMin) >= bestCost)
                {
                    break; // every larger p costs more even with the smallest possible token pool
                }

                int tLimit = tHi;
                while (tLimit >= tMin && Cost(p, tLimit) >= bestCost)
                {
                    tLimit--;
                }

                if (tLimit < tMin || !Feasible(p, tLimit, rate))
                {
                    continue; // T*(p) > tLimit: nothing cheaper at this p
                }

                int tStar = Bisect(tMin - 1, tLimit, t => t >= tMin && Feasible(p, t, rate));
                tHi = tStar;
                if (Cost(p, tStar) < bestCost)
                {
                    best = (p, tStar);
                    bestCost = Cost(p, tStar);
                }

                if (tStar == tMin)
                {
                    break; // the token pool cannot shrink further; larger p only costs more
                }
            }

            return Done(Choice(best.P, best.T, rate), null);

            double Cost(int p, int t) => (wp * p) + (wt * t) + ((p + t) * 1e-9); // ties: fewer machines
        }

        public DesignSearch MaxThroughput(double budget, Func<int, int, double> price)
        {
            if (!design.IsSplit)
            {
                int n = Math.Min(_max, (int)Math.Floor((budget / price(1, 0)) + 1e-9));
                if (n < 1)
                {
                    return Done(null, "the budget buys no machine");
                }

                (double rate, string? note) = MaxRate(n, 0, 0);
                return Done(rate > 0 ? Choice(n, 0, rate) : null, note ?? (rate > 0 ? null : $"{n} machines miss the SLOs at every rate tried"));
            }

            double unitP = price(1, 0), unitT = price(0, 1);
            double bestRate = 0;
            (int P, int T) best = (0, 0);
            string? bestNote = null;
            foreach (int p in CoarseToFine(Math.Min(_max, (int)Math.Floor(((budget - unitT) / unitP) + 1e-9)), Math.Max(1, request.SplitStep)))
            {
                int t = Math.Min(_max, (int)Math.Floor(((budget - (p * unitP)) / unitT) + 1e-9));
                if (t < 1)
                {
                    continue;
                }

                if (bestRate > 0)
                {
                    // Only a split that beats the best so far matters: one simulation decides.
                    double probe = Round(bestRate * (1 + request.RateTolerance));
                    if (!Feasible(p, t, probe))
                    {
                        continue;
                    }
                }

                (double rate, string? note) = MaxRate(p, t, bestRate);
                if (rate > bestRate)
                {
                    bestRate = rate;
                    best = (p, t);
                    bestNote = note;
                }
            }

            return bestRate > 0
                ? Done(Choice(best.P, best.T, bestRate), bestNote)
                : Done(null, best.P == 0 && budget < unitP + unitT ? "the budget buys no prompt + token pair" : "no split within the budget meets the SLOs at any rate tried");
        }

        public DesignSearch MaxThroughput(IReadOnlyList<(int Prompt, int Token)> configurations)
        {
            double bestRate = 0;
            (int P, int T) best = (0, 0);
            string? bestNote = null;
            foreach ((int p, int t) in configurations)
            {
                if (p < 1 || (design.IsSplit && t < 1))
                {
                    continue;
                }

                if (bestRate > 0 && !Feasible(p, t, Round(bestRate * (1 + request.RateTolerance))))
                {
                    continue; // only a configuration that beats the best so far matters: one simulation decides
                }

                (double rate, string? note) = MaxRate(p, t, bestRate);
                if (rate > bestRate)
                {
                    bestRate = rate;
                    best = (p, t);
                    bestNote = note;
                }
            }

            return bestRate > 0 ? Done(Choice(best.P, best.T, bestRate), bestNote) : Done(null, "no configuration meets the SLOs at any rate tried");
        }

        /// <summary>
        /// Prompt pool sizes step, 2 step, ... up to <paramref name="max"/>, coarsest grid first (strides of powers of
        /// two, halving): a good split is found early, so later splits are usually dismissed by one probe.
        /// </summary>
        private static IEnumerable<int> CoarseToFine(int max, int step)
        {
            int count = max / step;
            if (count < 1)
            {
                yield break;
            }

            var seen = new bool[count + 1];
            for (int stride = (int)BitOperations.RoundUpToPowerOf2((uint)count); stride >= 1; stride /= 2)
            {
                for (int k = stride; k <= count; k += stride)
                {
                    if (!seen[k])
                    {
                        seen[k] = true;
                        yield return k * step;
                    }
                }
            }
        }

        /// <summary>Highest rate (to the tolerance) at which the configuration meets the SLOs; 0 if none.</summary>
        private (double Rate, string? Note) MaxRate(int prompt, int token, double knownFeasible)
        {
            double tol = request.RateTolerance;
            double lo, hi;
            if (knownFeasible > 0)
            {
                // Verified by the caller's probe. Improvements between neighbouring splits are usually small, so
                // gallop in growing multiples of the tolerance rather than doubling.
                lo = Round(knownFeasible * (1 + tol));
                hi = Gallop(lo * (1 + tol) * (1 + tol), up: true, growth: (1 + tol) * (1 + tol));
            }
            else
            {
                double r = Round(request.InitialRate);
                if (Feasible(prompt, token, r))
                {
                    lo = r;
                    hi = Gallop(r * 2, up: true, growth: 2);
                }
                else
                {
                    hi = r;
                    lo = Gallop(r / 2, up: false, growth: 2);
                    if (lo <= 0)
                    {
                        return (0, null);
                    }
                }
            }

            if (double.IsPositiveInfinity(hi))
            {
                return (lo, $"meets the SLOs at {lo} requests/s, the search ceiling (raise --max-rate)");
            }

            while ((hi - lo) / lo > tol)
            {
                double mid = Round((lo + hi) / 2);
                if (mid <= lo || mid >= hi)
                {
                    break;
                }

                if (Feasible(prompt, token, mid))
                {
                    lo = mid;
                }
                else
                {
                    hi = mid;
                }
            }

            return (lo, null);

            // Growing (or halving) until the verdict flips: returns the first failing rate going up (+inf past the
            // ceiling), or the first passing rate going down (0 below 0.001 requests/s). Going up, the factor squares
            // each step, so a gallop from a good estimate is short and one from a bad estimate still logarithmic.
            double Gallop(double r, bool up, double growth)
            {
                while (true)
                {
                    r = Round(r);
                    if (up && r > request.MaxRate)
                    {
                        if (Feasible(prompt, token, Round(request.MaxRate)))
                        {
                            lo = Round(request.MaxRate);
                            return double.PositiveInfinity;
                        }

                        return Round(request.MaxRate);
                    }

                    if (!up && r < 0.001)
                    {
                        return 0;
                    }

                    bool ok = Feasible(prompt, token, r);
                    if (up && !ok)
                    {
                        return r;
                    }

                    if (up)
                    {
                        lo = r;
                        r = Math.Max(r * growth, r + 0.001);
                        growth *= growth;
                    }
                    else if (ok)
                    {
                        return r;
                    }
                    else
                    {
                        hi = r;
                        r /= 2;
                    }
                }
            }
        }

        private static double Round(double rate) => Math.Round(rate, 3, MidpointRounding.AwayFromZero);
    }
}

/// <summary>Which equal budget clusters are compared under.</summary>
public enum IsoBudget
{
    /// <summary>Equal provisioned power: 40 DGX-H100 ≡ 70 DGX-A100.</summary>
    Power,

    /// <summary>Equal cost: 40 DGX-H100 ≡ 86 DGX-A100.</summary>
    Cost,
}

/// <summary>
/// The clusters SplitwiseSim's experiment configs compare at iso-power and iso-cost (<c>configs/experiment/*_iso*.yaml</c>,
/// <c>notebooks/utils.py</c>): its own unit powers (H100 44, A100 24.8, capped H100 30.8) and costs (4.76, 2.21), 40
/// DGX-H100 as the budget, token pools in steps of 5. Baselines: 70 (power) or 86 (cost) DGX-A100, 40 DGX-H100;
/// Splitwise-AA: 70 or 86 A100 split P + T, T = 5, 10, …; Splitwise-HH: 40 H100 split likewise; Splitwise-HA: P = 5, 10,
/// …, 35 H100 prompt machines and <c>int(44 × (40 − P) // 24.8)</c> (power) or <c>int(4.76 × (40 − P) // 2.21)</c>
/// (cost) A100 token machines; Splitwise-HHcap: P H100 and <c>int(44 × (40 − P) // 30.8)</c> (power) or 40 − P (cost)
/// capped token machines.
/// </summary>
public static class IsoClusters
{
    public static IReadOnlyList<(int Prompt, int Token)> For(string design, IsoBudget budget)
    {
        ArgumentNullException.ThrowIfNull(design);
        int a100 = budget == IsoBudget.Power ? 70 : 86;
        return design.ToLowerInvariant() switch
        {
            "baseline-a100" => [(a100, 0)],
            "baseline-h100" => [(40, 0)],
            "splitwise-aa" => Split(a100),
            "splitwise-hh" => Split(40),
            "splitwise-ha" => [.. Steps(40).Select(p => (p, budget == IsoBudget.Power ? FloorDiv(44 * (40 - p), 24.8) : FloorDiv(4.76 * (40 - p), 2.21)))],
            "splitwise-hhcap" => [.. Steps(40).Select(p => (p, budget == IsoBudget.Power ? FloorDiv(44 * (40 - p), 30.8) : 40 - p))],
            _ => throw SplitwiseException.Usage($"--iso: no iso clusters for design '{design}'"),
        };

        static (int, int)[] Split(int total) => [.. Steps(total).Select(t => (total - t, t))];

        static IEnumerable<int> Steps(int total) => Enumerable.Range(1, (total - 1) / 5).Select(k => 5 * k);

        // Python's int(a // b) on positive floats (CPython float_floor_div: (a - fmod(a, b)) / b, rounded), which differs
        // from floor(a / b) where b is inexact: 1540 // 30.8 is 49.0, 1540 / 30.8 is 50.0.
        static int FloorDiv(double a, double b)
        {
            double mod = a % b;
            double div = (a - mod) / b;
            double floor = Math.Floor(div);
            return (int)(div - floor > 0.5 ? floor + 1 : floor);
        }
    }
}
