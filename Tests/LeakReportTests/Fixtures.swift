import LeakModel
@_exported import LeakTestSupport

let fixture = makeSnapshot(fixtureTraces, sequence: 2)

let oldFixture = makeSnapshot([
    ([F.agentMalloc, F.slowAlloc, F.allocObject, F.cache10, F.main], 400, 4),
    ([F.agentMalloc, F.parse, F.main], 300, 3),
    ([F.agentMalloc, F.gone, F.main], 128, 2),
    ([F.agentMalloc, F.anonymous, F.inflate, F.main], 32, 4),
], sequence: 1)
