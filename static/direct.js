// Datastore Studio: uploads straight from the browser to Blob Storage (README, "Direct transfers").
// The studio hands out a SAS for one blob (POST .../direct/<path>); the file's blocks go up with
// Put Block, several at once, and Put Block List commits them, with If-None-Match: * unless
// Overwrite is ticked, so a file already there is skipped and nothing partial is ever visible
// (uncommitted blocks are not). When the account's CORS rules turn the browser away, the file goes
// through the studio as before (upload.js), and the page says so once. How each upload ended is
// reported to the studio (POST .../direct-outcome/<path>), which checks it against storage and
// writes it in the audit log.
(function () {
  "use strict";
  const RENEW_BEFORE_MS = 60 * 1000; // ask for a fresh SAS when the one held expires within this

  function statusElement() {
    return document.getElementById("direct-status");
  }

  function available() {
    const status = statusElement();
    return Boolean(status && status.dataset.mode === "direct");
  }

  // From now on this page uploads through the studio; say why, once.
  function fallBack(message) {
    const status = statusElement();
    if (!status) return;
    status.dataset.mode = "streaming";
    if (status.querySelector("[data-direct-notice]")) return;
    const box = document.createElement("div");
    box.className = "notice direct-notice";
    box.setAttribute("role", "note");
    const text = document.createElement("p");
    text.setAttribute("data-direct-notice", "");
    text.textContent = message;
    box.append(text);
    status.replaceChildren(box);
  }

  function randomHex(bytes) {
    return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Every id of one blob has the same length; the upload's own prefix keeps two uploads racing
  // for one name from mixing their blocks.
  function blockId(uploadId, index) {
    return btoa(`${uploadId}-${String(index).padStart(6, "0")}`);
  }

  // One request, kept in `sets` (the whole upload's, for Cancel, and this file's) while it runs;
  // resolves with { status, text }, rejects with { network } or { aborted }.
  function send(sets, method, url, headers, body, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      sets.forEach((set) => set.add(request));
      const finish = () => sets.forEach((set) => set.delete(request));
      request.open(method, url);
      Object.entries(headers).forEach(([name, value]) => request.setRequestHeader(name, value));
      if (onProgress) request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => { finish(); resolve({ status: request.status, text: request.responseText }); };
      request.onerror = () => { finish(); reject({ network: true }); };
      request.onabort = () => { finish(); reject({ aborted: true }); };
      request.send(body);
    });
  }

  function storageMessage(answer) {
    const code = /<Code>([^<]*)<\/Code>/.exec(answer.text || "");
    return `The storage service answered ${answer.status}${code ? ` ${code[1]}` : ""}.`;
  }

  async function grantFor(grantUrl, path, size, csrfToken, sets) {
    const url = grantUrl.replace(/PATH$/, path.split("/").map(encodeURIComponent).join("/"));
    const answer = await send(sets, "POST", url, {
      "X-CSRFToken": csrfToken,
      Accept: "application/json",
      "Content-Type": "application/x-www-form-urlencoded",
    }, new URLSearchParams({ size: String(size) }).toString());
    let body = {};
    try { body = JSON.parse(answer.text); } catch (error) { /* not JSON: an HTML error page */ }
    if (answer.status === 200 && body.url) return { ...body, expiresAt: Date.parse(body.expires_on) };
    if (body.outcome === "fallback") return { fallback: body.message };
    throw { failed: body.message || `The studio answered ${answer.status}.`, waysOut: body.ways_out || [] };
  }

  async function upload({ file, path, overwrite, running, csrfToken, onProgress }) {
    const grantUrl = statusElement().dataset.grantUrl;
    const mine = new Set();
    const sets = [running.requests, mine];
    let grant;
    try {
      grant = await grantFor(grantUrl, path, file.size, csrfToken, sets);
    } catch (problem) {
      if (problem.aborted) return { outcome: "cancelled", message: "Cancelled: nothing of it was kept." };
      if (problem.network) return { outcome: "failed", message: "The connection to the studio was lost." };
      return { outcome: "failed", message: problem.failed, waysOut: problem.waysOut };
    }
    if (grant.fallback) {
      fallBack(grant.fallback);
      return { outcome: "fallback" };
    }
    let renewing = null;
    async function freshUrl() {
      if (Date.now() < grant.expiresAt - RENEW_BEFORE_MS) return grant.url;
      renewing = renewing || grantFor(grantUrl, path, file.size, csrfToken, sets).finally(() => { renewing = null; });
      grant = await renewing;
      return grant.url;
    }

    const result = await sendBlocks({ file, overwrite, running, onProgress, grant, freshUrl, sets, mine });
    await reportOutcome(path, file.size, result.outcome, csrfToken);
    return result;
  }

  // Best effort: the upload's own result stands whatever the studio answers.
  async function reportOutcome(path, size, outcome, csrfToken) {
    const template = statusElement().dataset.outcomeUrl;
    if (!template || outcome === "fallback") return;
    const url = template.replace(/PATH$/, path.split("/").map(encodeURIComponent).join("/"));
    try {
      await send([new Set()], "POST", url, {
        "X-CSRFToken": csrfToken,
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      }, new URLSearchParams({ outcome, size: String(size) }).toString());
    } catch (problem) { /* the studio is out of reach: the upload's result is shown all the same */ }
  }

  async function sendBlocks({ file, overwrite, running, onProgress, grant, freshUrl, sets, mine }) {
    const uploadId = randomHex(8);
    const count = Math.ceil(file.size / grant.block_size);
    const ids = Array.from({ length: count }, (_, index) => blockId(uploadId, index));
    const sent = new Array(count).fill(0);
    let next = 0, stored = 0;
    const report = () => onProgress(sent.reduce((a, b) => a + b, 0));

    async function sender() {
      while (next < count && !running.cancelled) {
        const index = next++;
        const start = index * grant.block_size;
        const url = `${await freshUrl()}&comp=block&blockid=${encodeURIComponent(ids[index])}`;
        const answer = await send(sets, "PUT", url, {}, file.slice(start, start + grant.block_size), (loaded) => {
          sent[index] = loaded;
          report();
        });
        if (answer.status !== 201) throw { failed: storageMessage(answer) };
        stored += 1;
      }
    }

    try {
      await Promise.all(Array.from({ length: Math.min(grant.blocks_in_flight, count) }, sender));
      if (running.cancelled) throw { aborted: true };
      const blockList = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join("")}</BlockList>`;
      const headers = { "x-ms-blob-content-type": file.type || grant.content_type };
      if (!overwrite) headers["If-None-Match"] = "*";
      const answer = await send(sets, "PUT", `${await freshUrl()}&comp=blocklist`, headers, blockList);
      if (answer.status === 201) return { outcome: "uploaded" };
      if (!overwrite && (answer.status === 409 || answer.status === 412)) return { outcome: "skipped" };
      return { outcome: "failed", message: storageMessage(answer) };
    } catch (problem) {
      mine.forEach((request) => request.abort()); // this file's other blocks
      if (problem.aborted || running.cancelled) return { outcome: "cancelled", message: "Cancelled: nothing of it was kept." };
      if (problem.network && stored === 0) {
        // Most likely the account's CORS rules: the browser may not reach storage from this page.
        fallBack("Uploads go through the studio: this browser could not reach the storage service directly "
          + "(its CORS rules may not allow this studio's address).");
        return { outcome: "fallback" };
      }
      if (problem.network) return { outcome: "failed", message: "The connection to the storage service was lost: nothing of it was kept." };
      return { outcome: "failed", message: problem.failed || "The upload failed: nothing of it was kept." };
    }
  }

  window.StudioDirect = { available, upload };
})();
