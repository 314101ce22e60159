/* Kamerbron widget. One tag on any intranet page adds a floating button and a compact chat panel:
 *   <script src="https://kamerbron.intranet/widget.js" data-title="Kamerbron" data-accent="#154273"
 *           data-filter-doc="..." data-filter-party="SP,VVD" data-lang="nl" defer></script>
 * It talks only to the origin it was loaded from (POST /api/ask), lives in a shadow root so the
 * page's CSS and its own never mix, and inserts all data with textContent, never as HTML.
 */
(function () {
  "use strict";

  var CSS = "__KAMERBRON_WIDGET_CSS__";

  var STRINGS = {
    nl: {
      title: "Kamerbron",
      subtitle: "Antwoorden uit Kamerstukken, met bron",
      open: "Vraag het Kamerbron",
      close: "Sluiten",
      reset: "Nieuw gesprek",
      placeholder: "Stel een vraag over mensenhandel of prostitutiebeleid…",
      send: "Vraag",
      intro: "Stel een vraag over Kamerstukken over mensenhandel en prostitutiebeleid. Elk antwoord noemt de passages waarop het steunt.",
      thinking: "Bezig met zoeken in de Kamerstukken…",
      sources: "Bronnen",
      others: "Overige gevonden passages",
      refused: "Geen antwoord gevonden",
      closest: "Dichtstbijzijnde passages (niet beantwoordend)",
      notAnswering: "niet beantwoordend",
      source: "Officiële bron",
      status: "Publicatiestatus van het document, zoals de uitgever die vermeldt",
      whole: "Hele passage",
      unknownSpeaker: "Onbekende spreker",
      network: "Kamerbron is niet bereikbaar. Controleer de verbinding en probeer het opnieuw.",
      failed: "Er ging iets mis bij het beantwoorden. Probeer het opnieuw.",
      busy: "Er worden nu te veel vragen tegelijk beantwoord. Probeer het zo opnieuw.",
      footer: "Controleer belangrijke antwoorden altijd in de bron.",
      verified: "letterlijk geverifieerd",
      verifiedHint: "Elk citaat staat woordelijk in de aangehaalde passage",
      quoteWarnings: {
        misattributed: "citaat van een andere spreker",
        unverified: "citaat niet letterlijk in de bron",
        repaired: "citaat aangepast aan de brontekst",
        paraphrase: "parafrase, niet letterlijk in de bron"
      },
      quoteBy: "citaat van ",
      months: ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"]
    },
    en: {
      title: "Kamerbron",
      subtitle: "Answers from parliamentary papers, with sources",
      open: "Ask Kamerbron",
      close: "Close",
      reset: "New conversation",
      placeholder: "Ask about human trafficking or prostitution policy…",
      send: "Ask",
      intro: "Ask a question about Dutch parliamentary papers on human trafficking and prostitution policy. Every answer names the passages it relies on.",
      thinking: "Searching the parliamentary papers…",
      sources: "Sources",
      others: "Other passages found",
      refused: "No answer found",
      closest: "Closest passages (not answering the question)",
      notAnswering: "not answering",
      source: "Official source",
      status: "The document's publication status, as its publisher states it",
      whole: "Whole passage",
      unknownSpeaker: "Unknown speaker",
      network: "Kamerbron cannot be reached. Check the connection and try again.",
      failed: "Something went wrong while answering. Please try again.",
      busy: "Too many questions are being answered right now. Please try again shortly.",
      footer: "Always check important answers in the source.",
      verified: "verified verbatim",
      verifiedHint: "Every quote is word for word in the passage cited",
      quoteWarnings: {
        misattributed: "quote by another speaker",
        unverified: "quote not verbatim in the source",
        repaired: "quote corrected to the source text",
        paraphrase: "paraphrase, not verbatim in the source"
      },
      quoteBy: "quote by ",
      months: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    }
  };
  var MAX_HISTORY = 6;
  var EXCERPT_WHOLE_BELOW = 480;
  var EXCERPT_CONTEXT = 160;
  var EXCERPT_OPENING = 300;
  var CLOSEST_SHOWN = 3;
  // the worst status of a card's quote checks is shown, in this order (see rag/verify.py)
  var QUOTE_ORDER = ["misattributed", "unverified", "repaired", "paraphrase"];

  var script = document.currentScript || (function () {
    var found = document.querySelectorAll('script[src*="widget.js"]');
    return found[found.length - 1];
  })();
  if (!script || window.__kamerbronWidget) return;
  window.__kamerbronWidget = true;

  var origin = new URL(script.src, window.location.href).origin;
  var config = script.dataset;
  var T = STRINGS[config.lang === "en" ? "en" : "nl"];
  var title = config.title || T.title;
  var accent = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgb\([0-9 ,.%]+\))$/.test(config.accent || "") ? config.accent : "";
  var filters = {};
  if (config.filterDoc) filters.doc_ids = splitList(config.filterDoc);
  if (config.filterParty) filters.parties = splitList(config.filterParty);
  var history = [];
  var busy = false;

  function splitList(value) {
    return value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatDate(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value || "");
    if (!m) return value || "";
    var month = T.months[parseInt(m[2], 10) - 1];
    if (!month) return value;
    return parseInt(m[3], 10) + " " + month + " " + m[1];
  }

  function safeUrl(url) {
    return /^https?:\/\/[^\s"'<>]+$/i.test(url || "") ? url : "";
  }

  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /* Offsets [start, end] of each sentence found in the text, sorted and merged. */
  function markRanges(text, sentences) {
    var found = [];
    (sentences || []).forEach(function (sentence) {
      var words = String(sentence).split(/\s+/).filter(Boolean).map(escapeRegExp);
      if (!words.length) return;
      var match = new RegExp(words.join("\\s+")).exec(text);
      if (match) found.push([match.index, match.index + match[0].length]);
    });
    found.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    found.forEach(function (r) {
      var last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    });
    return merged;
  }

  /* The part of a long passage a card shows: the marked sentences with context, cut at sentences. */
  function excerptWindow(text, ranges) {
    if (text.length <= EXCERPT_WHOLE_BELOW) return [0, text.length];
    var lo = ranges.length ? Math.max(0, ranges[0][0] - EXCERPT_CONTEXT) : 0;
    var hi = ranges.length ? Math.min(text.length, ranges[ranges.length - 1][1] + EXCERPT_CONTEXT) : EXCERPT_OPENING;
    var first = ranges.length ? ranges[0][0] : lo;
    var last = ranges.length ? ranges[ranges.length - 1][1] : lo;
    if (lo > 0) {
      var head = text.slice(lo, first);
      var m = /[.?!] /.exec(head);
      var space = head.indexOf(" ");
      lo = m ? lo + m.index + 2 : (space >= 0 ? lo + space + 1 : lo);
    }
    if (hi < text.length) {
      var tail = text.slice(last, hi);
      var cut = Math.max(tail.lastIndexOf(". "), tail.lastIndexOf("? "), tail.lastIndexOf("! "));
      var lastSpace = tail.lastIndexOf(" ");
      hi = cut >= 0 ? last + cut + 1 : (lastSpace > 0 ? last + lastSpace : hi);
    }
    return [lo, hi];
  }

  /* text[lo:hi] as text nodes in a div, with the sentences relied on wrapped in <mark>. */
  function passageDiv(text, ranges, lo, hi, prefix, suffix) {
    var box = el("div", "kbw-passage");
    if (prefix) box.appendChild(document.createTextNode(prefix));
    var cursor = lo;
    ranges.forEach(function (r) {
      var start = Math.max(r[0], cursor), end = Math.min(r[1], hi);
      if (start >= end) return;
      if (start > cursor) box.appendChild(document.createTextNode(text.slice(cursor, start)));
      box.appendChild(el("mark", "", text.slice(start, end)));
      cursor = end;
    });
    if (cursor < hi) box.appendChild(document.createTextNode(text.slice(cursor, hi)));
    if (suffix) box.appendChild(document.createTextNode(suffix));
    return box;
  }

  function passageNodes(text, sentences) {
    text = String(text || "");
    var ranges = markRanges(text, sentences);
    var win = excerptWindow(text, ranges);
    if (win[0] === 0 && win[1] === text.length) return [passageDiv(text, ranges, 0, text.length)];
    var excerpt = passageDiv(text, ranges, win[0], win[1], win[0] > 0 ? "… " : "", win[1] < text.length ? " …" : "");
    var details = el("details", "kbw-full");
    details.appendChild(el("summary", "", T.whole));
    details.appendChild(passageDiv(text, ranges, 0, text.length));
    return [excerpt, details];
  }

  /* A quote check's kind: its status, with an unverified cited sentence called a paraphrase. */
  function quoteKind(check) {
    return check.kind === "sentence" && check.status === "unverified" ? "paraphrase" : String(check.status || "");
  }

  /* A source card's mark: verified when every check of it is, else a warning naming the worst. */
  function quoteMark(checks) {
    if (!checks || !checks.length) return null;
    var kinds = {};
    checks.forEach(function (c) { kinds[quoteKind(c)] = true; });
    var worst = QUOTE_ORDER.filter(function (k) { return kinds[k]; })[0];
    if (!worst) {
      var ok = el("span", "kbw-verified", "✓ " + T.verified);
      ok.title = T.verifiedHint;
      return ok;
    }
    var label = T.quoteWarnings[worst];
    if (worst === "misattributed") {
      var who = checks.filter(function (c) { return c.status === "misattributed" && c.actual_speaker; })
        .map(function (c) { return c.actual_speaker; });
      if (who.length) label = T.quoteBy + who.filter(function (w, i) { return who.indexOf(w) === i; }).join(", ");
    }
    return el("span", "kbw-quote-warning kbw-quote-" + worst, "⚠ " + label);
  }

  /* The answer's quote line: verified, or each kind of problem with its count. */
  function quoteLine(checks) {
    if (!checks || !checks.length) return null;
    var counts = {};
    checks.forEach(function (c) { var k = quoteKind(c); counts[k] = (counts[k] || 0) + 1; });
    var problems = QUOTE_ORDER.filter(function (k) { return counts[k]; });
    if (!problems.length) {
      var ok = el("div", "kbw-quotes kbw-verified", "✓ " + T.verified);
      ok.title = T.verifiedHint;
      return ok;
    }
    var parts = problems.map(function (k) { return counts[k] + "× " + T.quoteWarnings[k]; });
    if (counts.verified) parts.push(counts.verified + "× " + T.verified);
    return el("div", "kbw-quotes kbw-quote-warning", "⚠ " + parts.join(" · "));
  }

  function card(item, options) {
    var box = el("div", options.other ? "kbw-card kbw-card-other" : "kbw-card");
    var head = el("div", "kbw-card-head");
    if (options.n) head.appendChild(el("span", "kbw-n", "[" + options.n + "]"));
    head.appendChild(el("span", "kbw-speaker", item.speaker || T.unknownSpeaker));
    if (item.party) head.appendChild(el("span", "kbw-party", item.party));
    if (item.role && item.role !== "onbekend") head.appendChild(el("span", "kbw-role", item.role));
    if (options.badge) head.appendChild(el("span", "kbw-badge", options.badge));
    var mark = quoteMark(options.checks);
    if (mark) head.appendChild(mark);
    box.appendChild(head);
    var doc = el("div", "kbw-doc");
    var parts = [];
    if (item.doc_title) parts.push(el("span", "", item.doc_title));
    // titles of debate reports already end in the meeting date
    if (item.date && (item.doc_title || "").indexOf(formatDate(item.date)) < 0) parts.push(el("span", "", formatDate(item.date)));
    // the publication status, e.g. "Ongecorrigeerd": whoever cites the passage must see it
    if (item.status) {
      var status = el("span", "kbw-status", item.status);
      status.title = T.status;
      parts.push(status);
    }
    var url = safeUrl(item.url);
    if (url) {
      var link = el("a", "", T.source);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      parts.push(link);
    }
    parts.forEach(function (part, i) {
      if (i) doc.appendChild(document.createTextNode(" · "));
      doc.appendChild(part);
    });
    box.appendChild(doc);
    passageNodes(item.text, options.sentences).forEach(function (node) { box.appendChild(node); });
    return box;
  }

  /* Answer text as paragraphs, with [n] markers as styled spans. */
  function answerText(text) {
    var box = el("div", "kbw-text");
    String(text || "").split(/\n\s*\n/).forEach(function (para) {
      if (!para.trim()) return;
      var p = el("p");
      var re = /\[(\d{1,3})\]/g;
      var last = 0;
      var m;
      while ((m = re.exec(para)) !== null) {
        if (m.index > last) p.appendChild(document.createTextNode(para.slice(last, m.index)));
        p.appendChild(el("span", "kbw-ref", m[0]));
        last = m.index + m[0].length;
      }
      if (last < para.length) p.appendChild(document.createTextNode(para.slice(last)));
      box.appendChild(p);
    });
    return box;
  }

  function othersNode(passages, badge) {
    if (!passages.length) return null;
    var details = el("details", "kbw-others");
    details.appendChild(el("summary", "", T.others + " (" + passages.length + ")"));
    passages.forEach(function (p) { details.appendChild(card(p, { other: true, badge: badge })); });
    return details;
  }

  function answerNode(data) {
    var box = el("div", "kbw-msg kbw-bot");
    var retrieved = data.retrieved || [];
    if (data.notice) box.appendChild(el("div", "kbw-notice", data.notice));
    if (data.refused) {
      box.appendChild(el("div", "kbw-refused-label", T.refused));
      box.appendChild(answerText(data.answer));
      var closest = retrieved.slice(0, CLOSEST_SHOWN);
      if (closest.length) box.appendChild(el("div", "kbw-sources", T.closest));
      closest.forEach(function (p) { box.appendChild(card(p, { other: true, badge: T.notAnswering })); });
      var rest = othersNode(retrieved.slice(CLOSEST_SHOWN), T.notAnswering);
      if (rest) box.appendChild(rest);
      return box;
    }
    box.appendChild(answerText(data.answer));
    var quotes = data.quotes || [];
    var line = quoteLine(quotes);
    if (line) box.appendChild(line);
    var citations = (data.citations || []).slice().sort(function (a, b) { return a.n - b.n; });
    if (citations.length) box.appendChild(el("div", "kbw-sources", T.sources));
    var cited = {};
    citations.forEach(function (c) {
      cited[c.chunk_id] = true;
      var checks = quotes.filter(function (q) { return q.n === c.n; });
      box.appendChild(card(c, { n: c.n, sentences: c.sentences, checks: checks }));
    });
    var others = othersNode(retrieved.filter(function (p) { return !cited[p.chunk_id]; }), "");
    if (others) box.appendChild(others);
    return box;
  }

  /* --- the widget's DOM ------------------------------------------------------------------ */

  var host = el("div");
  host.id = "kamerbron-widget";
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  root.appendChild(style);
  var shell = el("div", "kbw");
  shell.setAttribute("lang", config.lang === "en" ? "en" : "nl");
  if (accent) shell.style.setProperty("--kbw-accent", accent);
  root.appendChild(shell);

  var launcher = el("button", "kbw-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "kbw-panel");
  var svgNS = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNS, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z");
  icon.appendChild(path);
  launcher.appendChild(icon);
  launcher.appendChild(el("span", "", T.open));
  shell.appendChild(launcher);

  var panel = el("div", "kbw-panel");
  panel.id = "kbw-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var head = el("div", "kbw-head");
  var headText = el("div", "kbw-head-text");
  headText.appendChild(el("p", "kbw-title", title));
  headText.appendChild(el("p", "kbw-sub", T.subtitle));
  head.appendChild(headText);
  var resetButton = el("button", "kbw-icon-btn kbw-reset", T.reset);
  resetButton.type = "button";
  var closeButton = el("button", "kbw-icon-btn kbw-close", "×");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", T.close);
  closeButton.title = T.close;
  head.appendChild(resetButton);
  head.appendChild(closeButton);
  panel.appendChild(head);

  var log = el("div", "kbw-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  panel.appendChild(log);

  var form = el("form", "kbw-form");
  var input = el("textarea");
  input.rows = 2;
  input.placeholder = T.placeholder;
  input.setAttribute("aria-label", T.placeholder);
  var sendButton = el("button", "kbw-send", T.send);
  sendButton.type = "submit";
  form.appendChild(input);
  form.appendChild(sendButton);
  panel.appendChild(form);
  panel.appendChild(el("p", "kbw-foot", T.footer));
  shell.appendChild(panel);

  function intro() {
    log.textContent = "";
    log.appendChild(el("div", "kbw-msg kbw-bot kbw-intro", T.intro));
  }

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) input.focus();
    else launcher.focus();
  }

  function scrollDown(node) {
    log.scrollTop = node ? node.offsetTop - 8 : log.scrollHeight;
  }

  function ask(question) {
    busy = true;
    sendButton.disabled = true;
    log.appendChild(el("div", "kbw-msg kbw-user", question));
    var pending = el("div", "kbw-msg kbw-bot kbw-pending", T.thinking);
    log.appendChild(pending);
    scrollDown();
    var body = { question: question, history: history.slice(-MAX_HISTORY), filters: filters };
    fetch(origin + "/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "include",
      body: JSON.stringify(body)
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok) return data;
          var message = data && typeof data.error === "string" ? data.error : (response.status === 429 ? T.busy : T.failed);
          throw new Error(message);
        });
      })
      .then(function (data) {
        var node = answerNode(data);
        log.replaceChild(node, pending);
        history.push([question, String(data.answer || "")]);
        scrollDown(node);
      })
      .catch(function (error) {
        var message = error instanceof TypeError ? T.network : (error && error.message) || T.failed;
        log.replaceChild(el("div", "kbw-msg kbw-error", message), pending);
        scrollDown();
      })
      .then(function () {
        busy = false;
        sendButton.disabled = false;
      });
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  resetButton.addEventListener("click", function () {
    history = [];
    intro();
    input.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") setOpen(false);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });

  intro();
  (document.body || document.documentElement).appendChild(host);
})();
