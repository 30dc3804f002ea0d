using Splitwise.Hardware;
using Splitwise.Performance;

namespace Splitwise.Tests.Performance;

public class PerformanceCheckTests
{
    [Fact]
    public void Leave_one_row_out_predicts_each_measurement_from_the_rest()
    {
        // x = 100 has repeats 10 and 14: leaving out 10 predicts 14 (error 40%), leaving out 14 predicts 10 (28.6%).
        // x = 200 has one row: it is interpolated from x = 100 (median 12) and x = 300 (30): 21 vs 20 → 5%.
        List<double> errors = PerformanceCheck.LeaveOneRowOut([100, 200, 300], [[10, 14], [20], [30]]);
        Assert.Equal(4, errors.Count);
        Assert.Equal(0.4, errors[0], 12);
        Assert.Equal(4.0 / 14, errors[1], 12);
        Assert.Equal(0.05, errors[2], 12);
    }

    [Fact]
    public void Roofline_meets_its_target_on_the_real_profile()
    {
        ProfileTable table = ProfileTable.Load(TestData.PerfModel);
        PerformanceCheckReport report = PerformanceCheck.Run(table, TestData.PerfModel, Catalog.BuiltIn);
        Assert.True(report.RooflineCases > 400);
        Assert.InRange(report.RooflineMedianApe, 0, 0.15);
        Assert.InRange(report.ProfileLooMape, 0, 0.05);
    }

    [Fact]
    public void Roofline_responds_to_batch_shape_hardware_and_parallelism()
    {
        var llama = Catalog.BuiltIn.Model("llama2-70b");
        var h100 = Catalog.BuiltIn.Machine("dgx-h100");
        var a100 = Catalog.BuiltIn.Machine("dgx-a100");
        var h = new RooflinePerformanceModel(llama, h100.Gpu, 8, h100.NvlinkGBps);
        var a = new RooflinePerformanceModel(llama, a100.Gpu, 8, a100.NvlinkGBps);
        var h4 = new RooflinePerformanceModel(llama, h100.Gpu, 4, h100.NvlinkGBps);
        Assert.True(h.IterationNanoseconds(new BatchShape(4096, 1, 0, 0)) > h.IterationNanoseconds(new BatchShape(1024, 1, 0, 0)));
        Assert.True(h.IterationNanoseconds(new BatchShape(0, 0, 64, 64 * 4000)) > h.IterationNanoseconds(new BatchShape(0, 0, 64, 64 * 100)));
        Assert.True(a.IterationNanoseconds(new BatchShape(2048, 1, 0, 0)) > h.IterationNanoseconds(new BatchShape(2048, 1, 0, 0)));
        Assert.True(h4.IterationNanoseconds(new BatchShape(2048, 1, 0, 0)) > h.IterationNanoseconds(new BatchShape(2048, 1, 0, 0)));
        Assert.Equal(0, h.IterationNanoseconds(default));
    }
}
