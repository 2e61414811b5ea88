/// The report page's markup and style, around the data and the script.
/// Nothing in it names another origin, and its content security policy
/// forbids every fetch, so the page works offline and leaks nothing.
enum HTMLPage {
    /// `dataJSON` must already be escaped for a script element (`ScriptEmbedding`).
    static func render(dataJSON: String) -> String {
        head + #"<script type="application/json" id="data">"# + dataJSON + "</script>\n<script>\n" + HTMLScript.source + "</script>\n</body>\n</html>\n"
    }

    static let head = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>swiftleak report</title>
    <style>
    body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; background: #fff; }
    h1 { font-size: 1.4em; margin: .8em 0 .2em; }
    h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
    .muted, .note { color: #666; }
    .note { font-size: 12px; }
    #errors { background: #fee; border: 1px solid #c00; color: #900; padding: .5em; font-family: monospace; }
    .warn { background: #fff4d6; border: 1px solid #d9a400; padding: .4em .6em; }
    #cards { display: flex; flex-wrap: wrap; gap: .6em; }
    .card { border: 1px solid #ddd; border-radius: 4px; padding: .4em .7em; min-width: 9em; }
    .card b { display: block; font-size: 1.15em; }
    .controls { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; margin-bottom: .4em; }
    #search { width: 22em; padding: .2em .4em; }
    #match { color: #2456b3; }
    #flame-wrap { position: relative; border: 1px solid #ddd; }
    #flame { display: block; width: 100%; cursor: pointer; }
    #tooltip { position: absolute; pointer-events: none; background: #222; color: #fff; padding: .3em .5em;
               border-radius: 3px; font-size: 12px; max-width: 60em; word-break: break-all; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { padding: .15em .6em; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
    th { cursor: pointer; user-select: none; background: #f6f6f6; position: sticky; top: 0; }
    th.sorted::after { content: attr(data-arrow); color: #888; }
    td.loc, th.loc { text-align: left; white-space: normal; word-break: break-all; }
    td.grow { color: #b00; } td.shrink { color: #070; }
    tfoot td { color: #666; text-align: left; }
    #plot svg { border: 1px solid #ddd; background: #fcfcfc; }
    .swatch { display: inline-block; width: 1.2em; height: .7em; }
    .swatch.lost { background: repeating-linear-gradient(45deg, #6a3d9a 0 3px, #b39ddb 3px 6px); }
    .kind-steady_growth { color: #b00; font-weight: bold; }
    </style>
    </head>
    <body>
    <h1 id="title">swiftleak report</h1>
    <div id="subtitle" class="muted"></div>
    <div id="errors" hidden></div>
    <h2>Totals</h2>
    <div id="cards"></div>
    <p id="lost" class="warn" hidden></p>
    <p id="estimated" class="warn" hidden></p>
    <h2 id="flame-title">Flame graph</h2>
    <div class="controls">
    <input id="search" type="search" placeholder="Search frames (substring)" aria-label="search frames">
    <label><input type="checkbox" id="raw"> show allocator and runtime frames (as --raw)</label>
    <button id="reset" type="button">Reset zoom</button>
    <span id="match"></span>
    </div>
    <div id="flame-wrap"><canvas id="flame" height="100"></canvas><div id="tooltip" hidden></div></div>
    <p id="flame-note" class="note"></p>
    <div id="unreachable" hidden>
    <h2>Unreachable memory</h2>
    <p><span class="swatch lost"></span> <span id="unreachable-summary"></span></p>
    <ul id="cycles"></ul>
    </div>
    <div id="series" hidden>
    <h2>Live memory over time</h2>
    <div id="plot"></div>
    <table id="legend"><thead></thead><tbody></tbody></table>
    <p id="series-note" class="note"></p>
    </div>
    <h2 id="table-title">Top sites</h2>
    <table id="table"><thead></thead><tbody></tbody><tfoot></tfoot></table>

    """#
}
