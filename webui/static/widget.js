/* Kamerbron widget: the <kamerbron-chat> element, a chat over the Kamerstukken for any intranet page.
 *
 *   <script src="https://kamerbron.intranet/widget.js" defer></script>
 *   <kamerbron-chat mode="inline" lang="nl" chat-title="Kamerbron" accent="#154273"
 *                   filter-doc="..." filter-party="SP,VVD"></kamerbron-chat>
 *
 * mode="launcher" (the default) is a floating button that opens a panel; mode="inline" is the panel in
 * the page's flow, as wide as its container (height: the CSS variable --kamerbron-height, 560px by default).
 * api="https://..." names the Kamerbron server; by default it is the origin widget.js came from.
 * The script tag of old still works: with data-title, data-accent, data-lang, data-filter-doc and
 * data-filter-party on it and no <kamerbron-chat> on the page, it adds one in launcher mode.
 *
 * Everything lives in an open shadow root with its own styles: the page's CSS cannot reach in, and the
 * widget's cannot leak out. The answer streams from POST /v1/chat/completions; the finished message is
 * the app's own markup (webui/render.py, sent as kamerbron.html), put through an allowlist of tags and
 * attributes; the question and streamed text are inserted as text only. The conversation is kept in
 * sessionStorage, per page, until the tab is closed or "Nieuw gesprek" is pressed.
 */
(function () {
  "use strict";

  if (!window.customElements || window.customElements.get("kamerbron-chat")) return;

  const CSS = "__KAMERBRON_WIDGET_CSS__";

  const STRINGS = {
    nl: {
      title: "Kamerbron",
      subtitle: "Antwoorden uit Kamerstukken, met bron",
      open: "Vraag het Kamerbron",
      close: "Sluiten",
      reset: "Nieuw gesprek",
      placeholder: "Stel een vraag over mensenhandel of prostitutiebeleid…",
      question: "Je vraag",
      send: "Vraag",
      intro: "Stel een vraag over Kamerstukken over mensenhandel en prostitutiebeleid. Elk antwoord noemt de passages waarop het steunt.",
      thinking: "Bezig met zoeken in de Kamerstukken…",
      network: "Kamerbron is niet bereikbaar. Controleer de verbinding en probeer het opnieuw.",
      failed: "Er ging iets mis bij het beantwoorden. Probeer het opnieuw.",
      busy: "Er worden nu te veel vragen tegelijk beantwoord. Probeer het zo opnieuw.",
      footer: "Controleer belangrijke antwoorden altijd in de bron."
    },
    en: {
      title: "Kamerbron",
      subtitle: "Answers from parliamentary papers, with sources",
      open: "Ask Kamerbron",
      close: "Close",
      reset: "New conversation",
      placeholder: "Ask about human trafficking or prostitution policy…",
      question: "Your question",
      send: "Ask",
      intro: "Ask a question about Dutch parliamentary papers on human trafficking and prostitution policy. Every answer names the passages it relies on.",
      thinking: "Searching the parliamentary papers…",
      network: "Kamerbron cannot be reached. Check the connection and try again.",
      failed: "Something went wrong while answering. Please try again.",
      busy: "Too many questions are being answered right now. Please try again shortly.",
      footer: "Always check important answers in the source."
    }
  };
  const MAX_HISTORY = 6;
  // Messages kept in sessionStorage per widget: enough to read back, small next to its quota.
  const MAX_KEPT = 40;
  const STORE_PREFIX = "kamerbron-chat:";
  // What the app's markup (webui/render.py) uses; anything else in a message is dropped.
  const ALLOWED_TAGS = new Set(["DIV", "SPAN", "P", "MARK", "DETAILS", "SUMMARY", "A"]);
  const ALLOWED_ATTRIBUTES = new Set(["class", "title", "href"]);
  const ICON = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z";

  const script = document.currentScript || (function () {
    const found = document.querySelectorAll('script[src*="widget.js"]');
    return found[found.length - 1];
  })();
  const scriptOrigin = script && script.src ? new URL(script.src, window.location.href).origin : window.location.origin;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function splitList(value) {
    return String(value || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function safeUrl(url) {
    return /^https?:\/\/[^\s"'<>]+$/i.test(url || "") ? url : "";
  }

  function validAccent(value) {
    return /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgb\([0-9 ,.%]+\))$/.test(value || "") ? value : "";
  }

  /* Drops every element and attribute the app's markup does not use; links open apart, http(s) only. */
  function clean(node) {
    Array.from(node.childNodes).forEach(function (child) {
      if (child.nodeType === Node.TEXT_NODE) return;
      if (child.nodeType !== Node.ELEMENT_NODE || !ALLOWED_TAGS.has(child.tagName)) {
        node.removeChild(child);
        return;
      }
      Array.from(child.attributes).forEach(function (attribute) {
        const name = attribute.name.toLowerCase();
        if (!ALLOWED_ATTRIBUTES.has(name) || (name === "href" && !safeUrl(attribute.value))) child.removeAttribute(attribute.name);
      });
      if (child.tagName === "A") {
        child.target = "_blank";
        child.rel = "noopener noreferrer";
      }
      clean(child);
    });
  }

  /* The server's message markup as a fragment: parsed inert in a <template>, then cleaned. */
  function messageFragment(html) {
    const template = document.createElement("template");
    template.innerHTML = String(html || "");
    clean(template.content);
    return template.content;
  }

  function errorText(data) {
    const error = data && data.error;
    if (typeof error === "string") return error;
    return error && typeof error.message === "string" ? error.message : "";
  }

  class KamerbronChat extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return; // moved within the page: already built
      this.mode = this.getAttribute("mode") === "inline" ? "inline" : "launcher";
      this.language = /^en/i.test(this.getAttribute("lang") || "") ? "en" : "nl";
      this.T = STRINGS[this.language];
      this.api = (this.getAttribute("api") || scriptOrigin).replace(/\/+$/, "");
      this.filters = {};
      if (this.getAttribute("filter-doc")) this.filters.doc_ids = splitList(this.getAttribute("filter-doc"));
      if (this.getAttribute("filter-party")) this.filters.parties = splitList(this.getAttribute("filter-party"));
      const place = Array.from(document.querySelectorAll("kamerbron-chat")).indexOf(this);
      this.storeKey = STORE_PREFIX + window.location.pathname + ":" + (this.id || this.mode + "-" + place);
      this.history = [];
      this.kept = [];
      this.busy = false;
      this.build();
      this.restore();
    }

    build() {
      const T = this.T;
      const title = this.getAttribute("chat-title") || T.title;
      const root = this.attachShadow({ mode: "open" });
      root.appendChild(el("style", "", CSS));
      const shell = el("div", "kbw kbw-mode-" + this.mode);
      shell.setAttribute("lang", this.language);
      const accent = validAccent(this.getAttribute("accent"));
      if (accent) shell.style.setProperty("--kbw-accent", accent);
      root.appendChild(shell);

      const panel = el("div", "kbw-panel");
      panel.id = "kbw-panel";
      panel.setAttribute("aria-label", title);
      const head = el("div", "kbw-head");
      const headText = el("div", "kbw-head-text");
      headText.appendChild(el("p", "kbw-title", title));
      headText.appendChild(el("p", "kbw-sub", T.subtitle));
      head.appendChild(headText);
      const resetButton = el("button", "kbw-icon-btn kbw-reset", T.reset);
      resetButton.type = "button";
      head.appendChild(resetButton);
      panel.appendChild(head);

      this.log = el("div", "kbw-log");
      this.log.setAttribute("role", "log");
      this.log.setAttribute("aria-live", "polite");
      this.log.tabIndex = 0;
      panel.appendChild(this.log);

      const form = el("form", "kbw-form");
      this.input = el("textarea");
      this.input.rows = 2;
      this.input.placeholder = T.placeholder;
      this.input.setAttribute("aria-label", T.question);
      this.sendButton = el("button", "kbw-send", T.send);
      this.sendButton.type = "submit";
      form.appendChild(this.input);
      form.appendChild(this.sendButton);
      panel.appendChild(form);
      panel.appendChild(el("p", "kbw-foot", T.footer));

      if (this.mode === "launcher") {
        this.launcher = el("button", "kbw-launcher");
        this.launcher.type = "button";
        this.launcher.setAttribute("aria-expanded", "false");
        this.launcher.setAttribute("aria-controls", panel.id);
        const svgNS = "http://www.w3.org/2000/svg";
        const icon = document.createElementNS(svgNS, "svg");
        icon.setAttribute("viewBox", "0 0 24 24");
        icon.setAttribute("aria-hidden", "true");
        const path = document.createElementNS(svgNS, "path");
        path.setAttribute("d", ICON);
        icon.appendChild(path);
        this.launcher.appendChild(icon);
        this.launcher.appendChild(el("span", "", T.open));
        shell.appendChild(this.launcher);

        panel.setAttribute("role", "dialog");
        panel.hidden = true;
        const closeButton = el("button", "kbw-icon-btn kbw-close", "×");
        closeButton.type = "button";
        closeButton.setAttribute("aria-label", T.close);
        closeButton.title = T.close;
        head.appendChild(closeButton);
        this.launcher.addEventListener("click", () => this.setOpen(panel.hidden));
        closeButton.addEventListener("click", () => this.setOpen(false));
        panel.addEventListener("keydown", (event) => {
          if (event.key === "Escape") this.setOpen(false);
        });
      } else {
        panel.setAttribute("role", "region");
      }
      this.panel = panel;
      shell.appendChild(panel);

      resetButton.addEventListener("click", () => {
        this.history = [];
        this.kept = [];
        this.save();
        this.intro();
        this.input.focus();
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
        }
      });
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const question = this.input.value.trim();
        if (!question || this.busy) return;
        this.input.value = "";
        this.ask(question);
      });
    }

    setOpen(open) {
      this.panel.hidden = !open;
      this.launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) this.input.focus();
      else this.launcher.focus();
    }

    intro() {
      this.log.textContent = "";
      this.log.appendChild(el("div", "kbw-msg kbw-bot kbw-intro", this.T.intro));
    }

    scrollDown(node) {
      this.log.scrollTop = node ? node.offsetTop - 8 : this.log.scrollHeight;
    }

    /* One message of the log: the user's question, the app's markup of an answer, or an error. */
    messageNode(message) {
      if (message.kind === "user") return el("div", "kbw-msg kbw-user", message.text);
      if (message.kind === "error") return el("div", "kbw-msg kbw-error", message.text);
      const node = el("div", "kbw-msg kbw-bot");
      if (message.html) node.appendChild(messageFragment(message.html));
      else node.appendChild(el("div", "kbw-plain", message.text));
      return node;
    }

    keep(message) {
      this.kept.push(message);
      this.kept = this.kept.slice(-MAX_KEPT);
    }

    save() {
      try {
        if (this.kept.length) window.sessionStorage.setItem(this.storeKey, JSON.stringify({ history: this.history, log: this.kept }));
        else window.sessionStorage.removeItem(this.storeKey);
      } catch (error) {
        // storage off or full: the conversation then lasts as long as the page
      }
    }

    restore() {
      this.intro();
      let saved = null;
      try {
        saved = JSON.parse(window.sessionStorage.getItem(this.storeKey) || "null");
      } catch (error) {
        saved = null;
      }
      if (!saved || !Array.isArray(saved.log)) return;
      this.history = (Array.isArray(saved.history) ? saved.history : []).filter(function (pair) {
        return Array.isArray(pair) && pair.length === 2 && pair.every(function (s) { return typeof s === "string"; });
      });
      saved.log.forEach((message) => {
        if (!message || typeof message !== "object") return;
        const kind = ["user", "bot", "error"].indexOf(message.kind) >= 0 ? message.kind : "";
        if (!kind) return;
        const clean = { kind: kind, text: String(message.text || ""), html: String(message.html || "") };
        this.keep(clean);
        this.log.appendChild(this.messageNode(clean));
      });
      this.scrollDown();
    }

    async ask(question) {
      this.busy = true;
      this.sendButton.disabled = true;
      const asked = { kind: "user", text: question };
      this.keep(asked);
      this.log.appendChild(this.messageNode(asked));
      const pending = el("div", "kbw-msg kbw-bot kbw-pending", this.T.thinking);
      this.log.appendChild(pending);
      // Screen readers hear the finished answer, not every streamed word.
      this.log.setAttribute("aria-busy", "true");
      this.scrollDown();
      let message;
      try {
        const final = await this.stream(question, (text) => {
          pending.classList.add("kbw-streaming");
          pending.textContent = text;
          this.scrollDown();
        });
        message = { kind: "bot", html: String(final.html || ""), text: String(final.answer || "") };
        this.history.push([question, String(final.answer || "")]);
        this.history = this.history.slice(-MAX_HISTORY);
      } catch (error) {
        const text = error instanceof TypeError ? this.T.network : (error && error.message) || this.T.failed;
        message = { kind: "error", text: text };
      }
      const node = this.messageNode(message);
      this.log.replaceChild(node, pending);
      this.log.removeAttribute("aria-busy");
      this.keep(message);
      this.save();
      this.scrollDown(message.kind === "bot" ? node : null);
      this.busy = false;
      this.sendButton.disabled = false;
    }

    /* POST /v1/chat/completions with stream=true: calls onText with the text so far, returns the
       final chunk's kamerbron payload (the structured answer and its markup, html). */
    async stream(question, onText) {
      const messages = [];
      this.history.forEach(function (pair) {
        messages.push({ role: "user", content: pair[0] }, { role: "assistant", content: pair[1] });
      });
      messages.push({ role: "user", content: question });
      const body = { model: "kamerbron", stream: true, messages: messages, html: this.language };
      if (Object.keys(this.filters).length) body.filters = this.filters;
      const response = await fetch(this.api + "/v1/chat/completions", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        credentials: "include",
        body: JSON.stringify(body)
      });
      if (!response.ok) {
        const data = await response.json().catch(function () { return {}; });
        throw new Error(errorText(data) || (response.status === 429 ? this.T.busy : this.T.failed));
      }
      let text = "";
      let final = null;
      const T = this.T;
      function handle(event) {
        const data = event.split("\n").filter(function (line) { return line.indexOf("data:") === 0; })
          .map(function (line) { return line.slice(5).trim(); }).join("\n");
        if (!data || data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(errorText(chunk) || T.failed);
        if (chunk.kamerbron) final = chunk.kamerbron;
        const choice = chunk.choices && chunk.choices[0];
        const delta = choice && choice.delta && choice.delta.content;
        if (delta) {
          text += delta;
          onText(text);
        }
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for (;;) {
          const read = await reader.read();
          if (read.done) break;
          buffer = (buffer + decoder.decode(read.value, { stream: true })).replace(/\r\n/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            handle(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
        handle(buffer);
      } finally {
        reader.cancel().catch(function () {});
      }
      if (!final) throw new Error(T.failed);
      return final;
    }
  }

  window.customElements.define("kamerbron-chat", KamerbronChat);

  /* The script tag of old, on a page without <kamerbron-chat>: a launcher configured by its data-*. */
  function insertLauncher() {
    if (!script || document.querySelector("kamerbron-chat")) return;
    const chat = document.createElement("kamerbron-chat");
    chat.id = "kamerbron-widget";
    chat.setAttribute("mode", "launcher");
    const data = script.dataset;
    const attributes = { "chat-title": data.title, accent: data.accent, lang: data.lang, "filter-doc": data.filterDoc, "filter-party": data.filterParty };
    Object.keys(attributes).forEach(function (name) {
      if (attributes[name]) chat.setAttribute(name, attributes[name]);
    });
    (document.body || document.documentElement).appendChild(chat);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", insertLauncher);
  else insertLauncher();
})();
