/// Ordinary least squares of y over x = 0, 1, 2...: the slope per step and
/// how much of the variation the line explains.
struct LinearFit: Equatable {
    var slope: Double
    var intercept: Double
    /// 1 - residual / total sum of squares. A constant series is fitted
    /// exactly by a flat line, so it gets 1 (its kind, not R², says "flat").
    var rSquared: Double

    init(_ ys: [Double]) {
        let n = Double(ys.count)
        guard ys.count >= 2 else {
            slope = 0
            intercept = ys.first ?? 0
            rSquared = 1
            return
        }
        let meanX = (n - 1) / 2
        let meanY = ys.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (i, y) in ys.enumerated() {
            let dx = Double(i) - meanX
            sxy += dx * (y - meanY)
            sxx += dx * dx
        }
        slope = sxy / sxx
        intercept = meanY - slope * meanX
        var residual = 0.0, total = 0.0
        for (i, y) in ys.enumerated() {
            let e = y - (intercept + slope * Double(i))
            residual += e * e
            total += (y - meanY) * (y - meanY)
        }
        // Relative tolerance: rounding leaves tiny residuals on exact lines.
        if total == 0 || residual <= total * 1e-12 {
            rSquared = 1
        } else {
            rSquared = max(0, 1 - residual / total)
        }
    }
}
