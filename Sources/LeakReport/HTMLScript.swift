/// The report page's script: hand-written, no library. It reads the data
/// element, draws the icicle on a canvas, and builds the table, the counters
/// and the series plot with DOM calls (text only through textContent).
/// Errors land in #errors and `data-errors` on <body>, so a test reading the
/// DOM sees them; `data-drawn-nodes` on the canvas counts the drawn nodes,
/// `data-unreachable-nodes` those hatched for unreachable bytes.
enum HTMLScript {
    static let source = #"""
    "use strict";
    (function () {
      var body = document.body;
      body.setAttribute("data-errors", "0");
      var errorCount = 0;
      function reportError(message) {
        errorCount += 1;
        body.setAttribute("data-errors", String(errorCount));
        var box = document.getElementById("errors");
        var line = document.createElement("div");
        line.textContent = message;
        box.appendChild(line);
        box.hidden = false;
      }
      window.addEventListener("error", function (e) { reportError("error: " + e.message); });
      window.addEventListener("unhandledrejection", function (e) { reportError("unhandled rejection: " + e.reason); });

      var UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
      function bytes(n) {
        if (n < 1024) return n + " B";
        var unit = 0;
        while (unit < UNITS.length - 1 && n >= 1024) { n /= 1024; unit += 1; }
        // 1048575 bytes would read "1024.0 KiB": say "1.0 MiB".
        if (n.toFixed(1) === "1024.0" && unit < UNITS.length - 1) { n /= 1024; unit += 1; }
        return n.toFixed(1) + " " + UNITS[unit];
      }
      function signedBytes(n) { return (n < 0 ? "-" : "+") + bytes(Math.abs(n)); }
      function signed(n) { return (n < 0 ? "" : "+") + n; }
      function percent(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + "%" : "-"; }
      function element(tag, text, className) {
        var e = document.createElement(tag);
        if (text !== undefined && text !== null) e.textContent = text;
        if (className) e.className = className;
        return e;
      }
      function time(ns) { return new Date(ns / 1e6).toISOString().replace("T", " ").replace("Z", " UTC"); }

      function main() {
        var data = JSON.parse(document.getElementById("data").textContent);
        body.setAttribute("data-kind", data.kind);
        var snaps = data.snapshots, newest = snaps[snaps.length - 1], oldest = snaps[0];
        header(data, newest, oldest);
        cards(data, newest, oldest);
        var flame = new Flame(data);
        applyHash(flame);
        flame.show();
        if (data.unreachable) unreachable(data.unreachable);
        if (data.series) series(data.series);
        table(data);
        body.setAttribute("data-ready", "1");
        // Milliseconds from navigation start until everything is drawn.
        body.setAttribute("data-render-ms", String(Math.round(performance.now())));
        window.addEventListener("resize", function () { flame.draw(); });
      }

      // "#search=TEXT&raw=1" opens the page searching, or with allocator frames shown.
      function applyHash(flame) {
        location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
          var at = pair.indexOf("="), key = pair.slice(0, at), value = decodeURIComponent(pair.slice(at + 1));
          if (at < 0) return;
          if (key === "search") { document.getElementById("search").value = value; flame.query = value.toLowerCase(); }
          if (key === "raw") flame.rawBox.checked = value === "1";
        });
      }

      function header(data, newest, oldest) {
        var what = { live: "Live memory", growth: "Growth", series: "Series of " + data.snapshots.length + " snapshots" }[data.kind];
        document.getElementById("title").textContent = what + ": " + newest.command.join(" ");
        document.title = "swiftleak: " + what + " of pid " + newest.pid;
        var text = "pid " + newest.pid + " (" + newest.mode + "), grouped by " + data.group_by + "; ";
        text += data.kind === "live" ? "snapshot " + newest.sequence + " at " + time(newest.time_ns)
          : "from snapshot " + oldest.sequence + " at " + time(oldest.time_ns) + " to " + newest.sequence + " at " + time(newest.time_ns);
        document.getElementById("subtitle").textContent = text;
      }

      function cards(data, newest, oldest) {
        var box = document.getElementById("cards");
        function card(name, value, was) {
          var c = element("div", null, "card");
          c.appendChild(element("span", name, "muted"));
          c.appendChild(element("b", value));
          if (was !== undefined) c.appendChild(element("span", was, "muted"));
          box.appendChild(c);
        }
        var growing = data.kind !== "live";
        card("current", bytes(newest.current_bytes) + " in " + newest.current_blocks + " blocks",
             growing ? "was " + bytes(oldest.current_bytes) + " (" + signedBytes(newest.current_bytes - oldest.current_bytes) + ")" : undefined);
        card("peak", bytes(newest.peak_bytes) + " in " + newest.peak_blocks + " blocks");
        card("allocations", String(newest.allocations));
        card("frees", String(newest.frees));
        card("unknown frees", String(newest.unknown_frees), "blocks allocated before tracing");
        card("lost events", String(newest.lost_events));
        var lost = data.snapshots.filter(function (s) { return s.lost_events > 0; });
        if (lost.length > 0) {
          var p = document.getElementById("lost");
          p.textContent = "The agent lost events (" + lost.map(function (s) { return s.lost_events; }).join(", ") +
            "): the numbers are approximate.";
          p.hidden = false;
        }
        if (data.estimated.length > 0) {
          var e = document.getElementById("estimated");
          e.textContent = data.estimated.join(" ");
          e.hidden = false;
        }
      }

      // ---- flame graph (icicle: the whole at the top, allocation sites at the bottom)

      var ROW = 18;
      function decode(flame, labels) {
        var n = flame.nodes, path = [], root = null;
        for (var i = 0; i < n.length; i += 3) {
          var node = { name: n[i] < 0 ? "all" : labels[n[i]], value: n[i + 2], children: [], parent: null,
                       lost: flame.unreachable ? flame.unreachable[i / 3] : 0 };
          node.lower = node.name.toLowerCase();
          node.short = shortName(node.name);
          var depth = n[i + 1];
          if (depth === 0) { root = node; } else { node.parent = path[depth - 1]; node.parent.children.push(node); }
          path[depth] = node;
          path.length = depth + 1;
        }
        return root;
      }
      // "dir/file.c:12 function" draws as "function  file.c:12"; the tooltip keeps it whole.
      function shortName(name) {
        var m = /^(\S*?)([^\/\s]+):(\d+) (.+)$/.exec(name);
        return m ? m[4] + "  " + m[2] + ":" + m[3] : name;
      }
      function hue(name) {
        var h = 0;
        for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
        return h;
      }

      function Flame(data) {
        var self = this;
        this.data = data;
        this.trees = { folded: decode(data.flame.folded, data.labels), raw: decode(data.flame.raw, data.labels) };
        this.otherName = data.other_label;
        this.canvas = document.getElementById("flame");
        this.tooltip = document.getElementById("tooltip");
        this.query = "";
        this.rawBox = document.getElementById("raw");
        this.rawBox.addEventListener("change", function () { self.show(); });
        document.getElementById("search").addEventListener("input", function (e) { self.query = e.target.value.toLowerCase(); self.draw(); });
        document.getElementById("reset").addEventListener("click", function () { self.focus = self.root; self.draw(); });
        this.canvas.addEventListener("click", function (e) { var n = self.hit(e); if (n) { self.focus = n; self.draw(); } });
        this.canvas.addEventListener("mousemove", function (e) { self.hover(e); });
        this.canvas.addEventListener("mouseleave", function () { self.tooltip.hidden = true; });
      }
      Flame.prototype.show = function () {
        var name = this.rawBox.checked ? "raw" : "folded";
        this.tree = this.data.flame[name];
        this.root = this.focus = this.trees[name];
        var growth = this.data.kind !== "live";
        document.getElementById("flame-title").textContent = (growth ? "Growth" : "Live memory") + " by call path (" +
          (name === "raw" ? "all frames" : "allocator and runtime frames folded") + ")";
        var t = this.tree;
        if (t.total_bytes === 0) {
          document.getElementById("flame-note").textContent = growth ? "Nothing grew between these snapshots." : "No live memory in this snapshot.";
          this.draw();
          return;
        }
        document.getElementById("flame-note").textContent =
          (growth ? "Widths: bytes that grew between the first and last snapshot (paths that shrank count 0). "
                  : "Widths: live bytes. ") +
          "Click a node to zoom in. " + t.node_count + " nodes drawn from the data; " + t.pruned_subtrees +
          " smaller subtrees (under " + bytes(t.threshold_bytes) + ", i.e. " + (100 * this.data.limits.flame_minimum_fraction) +
          "% of the total, or beyond the cap of " + this.data.limits.flame_nodes + " nodes) are merged into \u201cother\u201d nodes.";
        this.draw();
      };
      Flame.prototype.layout = function (width) {
        var rects = [], focus = this.focus, ancestors = [];
        for (var a = focus.parent; a; a = a.parent) ancestors.unshift(a);
        ancestors.forEach(function (node, depth) { rects.push({ x: 0, y: depth, w: width, node: node, ancestor: true }); });
        var scale = focus.value > 0 ? width / focus.value : 0;
        var base = ancestors.length;
        (function place(node, x, depth) {
          var w = node.value * scale;
          if (w < 0.5) return;
          rects.push({ x: x, y: base + depth, w: w, node: node, ancestor: false });
          var cx = x;
          for (var i = 0; i < node.children.length; i++) { place(node.children[i], cx, depth + 1); cx += node.children[i].value * scale; }
        })(focus, 0, 0);
        return rects;
      };
      Flame.prototype.matches = function (node) { return this.query !== "" && node.lower.indexOf(this.query) >= 0; };
      Flame.prototype.draw = function () {
        var canvas = this.canvas, width = canvas.parentNode.clientWidth || 1000;
        var rects = this.layout(width), rows = 1;
        rects.forEach(function (r) { rows = Math.max(rows, r.y + 1); });
        var ratio = window.devicePixelRatio || 1;
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(rows * ROW * ratio);
        canvas.style.height = rows * ROW + "px";
        var g = canvas.getContext("2d");
        g.setTransform(ratio, 0, 0, ratio, 0, 0);
        g.font = "12px system-ui, sans-serif";
        g.textBaseline = "middle";
        var self = this, lostDrawn = 0;
        rects.forEach(function (r) {
          var node = r.node, h = hue(node.name);
          if (self.matches(node)) g.fillStyle = "#5b8def";
          else if (r.ancestor) g.fillStyle = "#d8d8d8";
          else if (node.name === self.otherName) g.fillStyle = "#bbbbbb";
          else if (!node.parent) g.fillStyle = "#e0c080";
          else g.fillStyle = "hsl(" + (h % 45 + 5) + ", " + (70 + h % 20) + "%, " + (55 + (h >> 8) % 15) + "%)";
          g.fillRect(r.x, r.y * ROW, Math.max(r.w - 1, 0.5), ROW - 1);
          // The unreachable share, hatched from the left edge.
          if (node.lost > 0 && !r.ancestor) {
            g.fillStyle = self.lostPattern(g);
            g.fillRect(r.x, r.y * ROW, Math.max((r.w - 1) * node.lost / node.value, 0.5), ROW - 1);
            lostDrawn += 1;
          }
          if (r.w > 40) {
            g.fillStyle = "#111";
            var label = node.short, room = Math.floor((r.w - 6) / 6.5);
            if (label.length > room) label = label.slice(0, Math.max(room - 1, 1)) + "\u2026";
            g.fillText(label, r.x + 3, r.y * ROW + ROW / 2);
          }
        });
        this.rects = rects;
        canvas.setAttribute("data-drawn-nodes", String(rects.length));
        canvas.setAttribute("data-unreachable-nodes", String(lostDrawn));
        this.showMatch();
      };
      Flame.prototype.lostPattern = function (g) {
        if (!this.pattern) {
          var tile = document.createElement("canvas");
          tile.width = tile.height = 6;
          var t = tile.getContext("2d");
          t.fillStyle = "#b39ddb"; t.fillRect(0, 0, 6, 6);
          t.strokeStyle = "#6a3d9a"; t.lineWidth = 2;
          t.beginPath(); t.moveTo(-1, 7); t.lineTo(7, -1); t.stroke();
          this.pattern = g.createPattern(tile, "repeat");
        }
        return this.pattern;
      };
      Flame.prototype.showMatch = function () {
        var box = document.getElementById("match");
        if (this.query === "") { box.textContent = ""; return; }
        var self = this, total = 0, count = 0;
        (function walk(node) {
          if (self.matches(node)) { total += node.value; count += 1; return; }
          node.children.forEach(walk);
        })(this.root);
        box.textContent = count + " matching nodes: " + bytes(total) + " (" + percent(total, this.root.value) + " of the whole)";
      };
      Flame.prototype.hit = function (e) {
        var box = this.canvas.getBoundingClientRect(), x = e.clientX - box.left, y = Math.floor((e.clientY - box.top) / ROW);
        for (var i = 0; i < (this.rects || []).length; i++) {
          var r = this.rects[i];
          if (r.y === y && x >= r.x && x < r.x + r.w) return r.node;
        }
        return null;
      };
      Flame.prototype.hover = function (e) {
        var node = this.hit(e), tip = this.tooltip;
        if (!node) { tip.hidden = true; return; }
        tip.textContent = node.name + " \u2014 " + bytes(node.value) + ", " + percent(node.value, this.root.value) + " of the whole" +
          (node.lost > 0 ? "; unreachable: " + bytes(node.lost) : "");
        var box = this.canvas.getBoundingClientRect();
        tip.style.left = Math.min(e.clientX - box.left + 12, box.width - 300) + "px";
        tip.style.top = (e.clientY - box.top + 16) + "px";
        tip.hidden = false;
      };

      // ---- what a reachability scan found unreachable (`swiftleak leaks`)

      function unreachable(u) {
        document.getElementById("unreachable").hidden = false;
        document.getElementById("unreachable-summary").textContent = "unreachable: " + u.blocks + " blocks, " + bytes(u.bytes) +
          " (hatched in the flame graph); " + (u.cycles.length === 0 ? "no leaked cycles." : u.cycles.length + " kinds of leaked cycle:");
        var list = document.getElementById("cycles");
        u.cycles.forEach(function (c) {
          list.appendChild(element("li", c.count + " \u00d7 " + c.members.join(" \u2192 ") + " \u2192 (back): " +
            c.blocks + " blocks, " + bytes(c.size)));
        });
      }

      // ---- table with top's (one snapshot) or diff's columns

      function table(data) {
        var t = data.table, live = data.kind === "live";
        // Row layout: [location, size, size diff, count, count diff, oldest age, traceback].
        var columns = [{ title: "size", index: 1, show: bytes }];
        if (!live) columns.push({ title: "size diff", index: 2, show: signedBytes, delta: true });
        columns.push({ title: "count", index: 3, show: String });
        if (!live) columns.push({ title: "count diff", index: 4, show: signed, delta: true });
        if (t.has_ages) columns.push({ title: "oldest", index: 5, show: function (s) { return s === null ? "-" : s.toFixed(0) + " s"; } });
        columns.push({ title: t.location, index: 0, show: String, loc: true });
        document.getElementById("table-title").textContent = live ? "Top sites (as swiftleak top)" : "What grew (as swiftleak diff)";

        var head = document.querySelector("#table thead"), rowEl = element("tr");
        var tbody = document.querySelector("#table tbody"), rows = t.rows.slice(), sortBy = null, descending = true;
        columns.forEach(function (c) {
          var th = element("th", c.title, c.loc ? "loc" : "");
          th.addEventListener("click", function () {
            descending = sortBy === c ? !descending : !c.loc;
            sortBy = c;
            head.querySelectorAll("th").forEach(function (x) { x.classList.remove("sorted"); });
            th.classList.add("sorted");
            th.setAttribute("data-arrow", descending ? " \u25bc" : " \u25b2");
            rows.sort(function (a, b) {
              var x = a[c.index], y = b[c.index];
              var order = c.loc ? String(x).localeCompare(String(y)) : (x === null ? -Infinity : x) - (y === null ? -Infinity : y);
              return descending ? -order : order;
            });
            fill();
          });
          rowEl.appendChild(th);
        });
        head.appendChild(rowEl);
        function fill() {
          tbody.textContent = "";
          rows.forEach(function (row) {
            var tr = element("tr");
            tr.title = row[6].join("\n");
            columns.forEach(function (c) {
              var value = row[c.index];
              var td = element("td", c.show(value), c.loc ? "loc" : (c.delta ? (value > 0 ? "grow" : value < 0 ? "shrink" : "") : ""));
              tr.appendChild(td);
            });
            tbody.appendChild(tr);
          });
        }
        fill();
        if (t.hidden_rows > 0) {
          var foot = element("tr"), td = element("td", t.hidden_rows + " more rows (" + bytes(t.hidden_bytes) +
            ") are not in this report; swiftleak " + (live ? "top" : "diff") + " --limit 0 lists them all.");
          td.colSpan = columns.length;
          foot.appendChild(td);
          document.querySelector("#table tfoot").appendChild(foot);
        }
      }

      // ---- series: each top site's live bytes per snapshot, as SVG lines

      var PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
      function series(s) {
        document.getElementById("series").hidden = false;
        var NS = "http:" + "//www.w3.org/2000/svg";
        function svg(tag, attrs, text) {
          var e = document.createElementNS(NS, tag);
          for (var k in attrs) e.setAttribute(k, attrs[k]);
          if (text !== undefined) e.textContent = text;
          return e;
        }
        var W = 900, H = 320, L = 80, R = 20, T = 15, B = 40;
        var t0 = s.times_ns[0], span = Math.max(s.times_ns[s.times_ns.length - 1] - t0, 1);
        var top = 1;
        s.sites.forEach(function (site) { site.sizes.forEach(function (v) { top = Math.max(top, v); }); });
        function X(ns) { return L + (W - L - R) * (ns - t0) / span; }
        function Y(v) { return H - B - (H - T - B) * v / top; }
        var root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
        root.appendChild(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
        root.appendChild(svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
        for (var i = 0; i <= 4; i++) {
          var v = top * i / 4;
          root.appendChild(svg("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end", "font-size": 11 }, bytes(Math.round(v))));
          root.appendChild(svg("text", { x: X(t0 + span * i / 4), y: H - B + 16, "text-anchor": "middle", "font-size": 11 },
                               "+" + (span * i / 4 / 1e9).toFixed(1) + " s"));
        }
        var lines = 0;
        s.sites.forEach(function (site, index) {
          var points = site.sizes.map(function (v, k) { return X(s.times_ns[k]).toFixed(1) + "," + Y(v).toFixed(1); }).join(" ");
          var line = svg("polyline", { points: points, fill: "none", stroke: PALETTE[index % PALETTE.length], "stroke-width": site.kind === "steady_growth" ? 2.5 : 1.5 });
          line.appendChild(svg("title", {}, site.name + " (" + site.kind + ")"));
          root.appendChild(line);
          lines += 1;
        });
        root.setAttribute("data-lines", String(lines));
        document.getElementById("plot").appendChild(root);

        var head = document.querySelector("#legend thead"), hr = element("tr");
        ["", "site", "trend", "R\u00b2", "slope / snapshot", "last"].forEach(function (title) { hr.appendChild(element("th", title, title === "site" ? "loc" : "")); });
        head.appendChild(hr);
        var tbody = document.querySelector("#legend tbody");
        s.sites.forEach(function (site, index) {
          var tr = element("tr"), sw = element("td"), mark = element("span", null, "swatch");
          mark.style.background = PALETTE[index % PALETTE.length];
          sw.appendChild(mark);
          tr.appendChild(sw);
          tr.appendChild(element("td", site.name, "loc"));
          tr.appendChild(element("td", site.kind.replace("_", " "), "kind-" + site.kind));
          tr.appendChild(element("td", site.r_squared === null ? "-" : site.r_squared.toFixed(2)));
          tr.appendChild(element("td", signedBytes(Math.round(site.slope_bytes_per_snapshot))));
          tr.appendChild(element("td", bytes(site.sizes[site.sizes.length - 1])));
          tbody.appendChild(tr);
        });
        document.getElementById("series-note").textContent = "The " + s.sites.length + " first of " + s.site_count +
          " sites in swiftleak trend's order (steady growth first). Total live memory went from " +
          bytes(s.current_bytes[0]) + " to " + bytes(s.current_bytes[s.current_bytes.length - 1]) + ".";
      }

      try { main(); } catch (e) { reportError("error: " + (e && e.stack ? e.stack : e)); }
    })();

    """#
}
