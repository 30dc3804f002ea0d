namespace Splitwise.Common;

/// <summary>The one check of a catalog entry's field (GPUs, machines, models), so Models need not reach into Hardware for it.</summary>
internal static class CatalogField
{
    /// <summary>Throws a usage <see cref="SplitwiseException"/> naming <paramref name="field"/> of the entry at <paramref name="where"/> unless <paramref name="ok"/>.</summary>
    internal static void Check(bool ok, string where, string field, string why)
    {
        if (!ok)
        {
            throw new SplitwiseException($"{where}: field '{field}' {why}; fix the catalog entry", ExitCodes.Usage);
        }
    }
}
