// Datastore Studio: upload files and folders into the folder being viewed.
// One PUT per file with the raw bytes as the body (the server streams it to storage), or, where
// direct.js says the page may, straight to storage.
// Each file and the whole upload show a bar, a percentage, the speed and the time left;
// Cancel stops the files still going (the server keeps nothing of a file cut short) and
// those not started; a summary ends it, skipped and failed files one per line.
(function () {
  "use strict";
  const card = document.querySelector("[data-upload]");
  if (!card) return;

  const uploadUrl = card.dataset.uploadUrl; // ends with "PATH", replaced per file
  const status = document.getElementById("upload-status");
  const targetInput = document.getElementById("upload-target");
  const overwriteInput = document.getElementById("upload-overwrite");
  const cancelButton = document.getElementById("upload-cancel");
  const starters = [...card.querySelectorAll(".file-input, #upload-target, #upload-overwrite")];
  const PARALLEL = 3;
  const LONG_LIST = 5; // longer lists of skipped or failed files fold away
  let running = null; // the upload in progress: { cancelled, requests }

  function csrfToken() {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"] || "";
  }

  function cleanFolder(value) {
    const folder = value.trim().replace(/^\/+|\/+$/g, "");
    if (folder.includes("\\")) throw new Error("Use / to separate folders in the target path, not \\.");
    if (folder && folder.split("/").some((part) => part === "" || part === "." || part === ".."))
      throw new Error("The target path cannot contain empty, '.' or '..' folders.");
    return folder;
  }

  function formatBytes(bytes) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
  }

  function formatDuration(seconds) {
    if (!isFinite(seconds)) return "…";
    if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
    const minutes = Math.floor(seconds / 60);
    return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  // "42% · 3.1 MB/s · 12 s left", from bytes done of a total since a start time.
  function progressText(done, total, startedAt) {
    const seconds = (performance.now() - startedAt) / 1000;
    const percent = total ? Math.floor((100 * done) / total) : 100;
    if (!done || seconds < 0.2) return `${percent}%`;
    const speed = done / seconds;
    return `${percent}% · ${formatBytes(speed)}/s · ${formatDuration((total - done) / speed)} left`;
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Files dropped as folders arrive as entries to walk; keep their relative paths.
  async function filesFromDrop(dataTransfer) {
    const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, relativePath: file.name }));
    const found = [];
    async function walk(entry, prefix) {
      if (entry.isFile) {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        found.push({ file, relativePath: prefix + file.name });
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        let batch;
        do {
          batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
          for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
        } while (batch.length);
      }
    }
    for (const entry of entries) await walk(entry, "");
    return found;
  }

  // Straight to storage when the page allows it (direct.js), else, or when the browser is turned
  // away there, through the studio.
  async function uploadOne(item, folder, overwrite, onProgress) {
    const path = folder ? `${folder}/${item.relativePath}` : item.relativePath;
    const direct = window.StudioDirect;
    if (direct && direct.available()) {
      const result = await direct.upload({ file: item.file, path, overwrite, running, csrfToken: csrfToken(), onProgress });
      if (result.outcome === "uploaded" || result.outcome === "skipped") onProgress(item.file.size);
      if (result.outcome !== "fallback") return { path, ...result };
      onProgress(0);
    }
    return streamOne(item, path, overwrite, onProgress);
  }

  function streamOne(item, path, overwrite, onProgress) {
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    const url = uploadUrl.replace(/PATH$/, encoded) + (overwrite ? "?overwrite=1" : "?overwrite=0");
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      running.requests.add(request);
      const done = (result) => { running.requests.delete(request); resolve({ path, ...result }); };
      request.open("PUT", url);
      request.setRequestHeader("X-CSRFToken", csrfToken());
      if (item.file.type) request.setRequestHeader("Content-Type", item.file.type);
      request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => {
        let answer = {};
        try { answer = JSON.parse(request.responseText); } catch (error) { /* not JSON: an HTML error page */ }
        if (answer.outcome === "uploaded" || answer.outcome === "skipped") onProgress(item.file.size);
        done({ outcome: answer.outcome || "failed", message: answer.message || `The server answered ${request.status}.`,
               waysOut: answer.ways_out || [] });
      };
      request.onabort = () => done({ outcome: "cancelled", message: "Cancelled: nothing of it was kept." });
      request.onerror = () => done({ outcome: "failed", message: "The connection to the studio was lost." });
      request.send(item.file);
    });
  }

  function setBusy(busy) {
    starters.forEach((control) => { control.disabled = busy; });
    card.querySelectorAll("label.file-button").forEach((label) => label.classList.toggle("disabled", busy));
    card.classList.toggle("uploading", busy);
    cancelButton.hidden = !busy;
    cancelButton.disabled = false;
  }

  // Paths one per line; folded away under a summary line when there are many.
  function pathList(title, results, describe, className) {
    const block = element("div", { class: className });
    const list = element("ul");
    results.forEach((result) => {
      const item = element("li", {}, describe(result));
      (result.waysOut || []).slice(0, 1).forEach((way) => {
        item.append(" ", element("a", { href: way.url }, way.label));
      });
      list.append(item);
    });
    if (results.length > LONG_LIST) {
      const details = element("details");
      details.append(element("summary", {}, `${title} (${results.length})`), list);
      block.append(details);
    } else {
      block.append(element("p", {}, `${title}:`), list);
    }
    return block;
  }

  async function upload(items) {
    if (running) return; // one upload at a time; the controls are disabled meanwhile
    status.replaceChildren();
    if (!items.length) {
      status.append(element("p", { class: "error", role: "alert" }, "Nothing to upload: the selection is empty."));
      return;
    }
    let folder;
    try { folder = cleanFolder(targetInput.value); } catch (error) {
      status.append(element("p", { class: "error", role: "alert" }, error.message));
      return;
    }
    running = { cancelled: false, requests: new Set() };
    setBusy(true);
    document.getElementById("empty-folder")?.remove(); // files are on their way
    const overwrite = overwriteInput.checked;
    const totalBytes = items.reduce((sum, item) => sum + item.file.size, 0);
    const sent = new Array(items.length).fill(0);
    const startedAt = performance.now();

    const overall = element("div", { class: "upload-overall" });
    const overallLabel = element("p", { id: "upload-overall-label" }, `Uploading ${items.length} file(s), ${formatBytes(totalBytes)}`);
    const overallText = element("p", { class: "upload-progress-text muted", id: "upload-overall-progress" }, "0%");
    const overallBar = element("progress", { max: totalBytes || 1, value: 0, "aria-labelledby": "upload-overall-label", class: "overall" });
    overall.append(overallLabel, overallBar, overallText);
    const list = element("ul", { class: "upload-list" });
    status.append(overall, list);

    const rows = items.map((item, index) => {
      const row = element("li");
      const label = element("span", { class: "upload-name", id: `upload-file-${index}`, title: item.relativePath }, item.relativePath);
      const bar = element("progress", { max: item.file.size || 1, value: 0, "aria-labelledby": `upload-file-${index}` });
      const state = element("span", { class: "upload-state muted" }, "Waiting");
      row.append(label, bar, state);
      list.append(row);
      return { bar, state, row };
    });

    const results = new Array(items.length);
    let next = 0;
    async function worker() {
      while (next < items.length && !running.cancelled) {
        const index = next++;
        const fileStarted = performance.now();
        rows[index].row.className = "upload-uploading";
        rows[index].state.textContent = "0%";
        results[index] = await uploadOne(items[index], folder, overwrite, (loaded) => {
          rows[index].bar.value = loaded;
          rows[index].state.textContent = progressText(loaded, items[index].file.size, fileStarted);
          sent[index] = loaded;
          const done = sent.reduce((a, b) => a + b, 0);
          overallBar.value = done;
          overallText.textContent = progressText(done, totalBytes, startedAt);
        });
        const result = results[index];
        rows[index].state.textContent = { uploaded: "Uploaded", skipped: "Skipped: already there", cancelled: "Cancelled" }[result.outcome]
          || `Failed: ${result.message}`;
        rows[index].row.className = `upload-${result.outcome}`;
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
    items.forEach((item, index) => {
      if (results[index]) return;
      results[index] = { path: item.relativePath, outcome: "cancelled", message: "Not started." };
      rows[index].state.textContent = "Cancelled";
      rows[index].row.className = "upload-cancelled";
    });

    const count = (outcome) => results.filter((r) => r.outcome === outcome);
    const [uploaded, skipped, failed, cancelled] = ["uploaded", "skipped", "failed", "cancelled"].map(count);
    overallLabel.textContent = running.cancelled ? "Upload cancelled" : "Upload finished";
    overallText.textContent = `${formatBytes(sent.reduce((a, b) => a + b, 0))} sent in ${formatDuration((performance.now() - startedAt) / 1000)}`;
    const summary = element("div", { class: "upload-summary", role: "alert" });
    let line = `${uploaded.length} uploaded, ${skipped.length} skipped, ${failed.length} failed.`;
    if (cancelled.length) line += ` ${cancelled.length} cancelled: nothing of them was kept.`;
    summary.append(element("p", {}, line));
    if (skipped.length) summary.append(pathList("Skipped (already there; tick Overwrite to replace)", skipped, (r) => r.path, "muted"));
    if (failed.length) summary.append(pathList("Failed", failed, (r) => `${r.path}: ${r.message}`, "error"));
    status.prepend(summary);
    running = null;
    setBusy(false);
    refreshListing();
  }

  cancelButton.addEventListener("click", () => {
    if (!running) return;
    running.cancelled = true;
    cancelButton.disabled = true;
    running.requests.forEach((request) => request.abort());
  });

  function refreshListing() {
    if (!window.htmx) return;
    const params = new URLSearchParams(window.location.search);
    params.delete("continuation");
    htmx.ajax("GET", `${card.dataset.listingUrl}?${params}`, { target: "#listing", swap: "outerHTML" });
  }

  function fromInput(input) {
    const items = [...input.files].map((file) => ({ file, relativePath: file.webkitRelativePath || file.name }));
    input.value = "";
    upload(items);
  }

  document.getElementById("upload-files").addEventListener("change", (event) => fromInput(event.target));
  document.getElementById("upload-folder").addEventListener("change", (event) => fromInput(event.target));

  card.addEventListener("dragover", (event) => { event.preventDefault(); card.classList.add("dragging"); });
  card.addEventListener("dragleave", (event) => { if (!card.contains(event.relatedTarget)) card.classList.remove("dragging"); });
  card.addEventListener("drop", async (event) => {
    event.preventDefault();
    card.classList.remove("dragging");
    if (running) return;
    upload(await filesFromDrop(event.dataTransfer));
  });
})();
