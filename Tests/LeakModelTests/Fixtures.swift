import LeakModel
@_exported import LeakTestSupport

let fixture = makeSnapshot(fixtureTraces)
