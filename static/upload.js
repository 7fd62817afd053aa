// Datastore Studio: upload files and folders into the folder being viewed.
// One PUT per file with the raw bytes as the body (the server streams it to storage),
// a progress bar per file and one for the whole upload, then a summary.
(function () {
  "use strict";
  const card = document.querySelector("[data-upload]");
  if (!card) return;

  const uploadUrl = card.dataset.uploadUrl; // ends with "PATH", replaced per file
  const status = document.getElementById("upload-status");
  const targetInput = document.getElementById("upload-target");
  const overwriteInput = document.getElementById("upload-overwrite");
  const PARALLEL = 3;

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

  function uploadOne(item, folder, overwrite, onProgress) {
    const path = folder ? `${folder}/${item.relativePath}` : item.relativePath;
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    const url = uploadUrl.replace(/PATH$/, encoded) + (overwrite ? "?overwrite=1" : "?overwrite=0");
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("PUT", url);
      request.setRequestHeader("X-CSRFToken", csrfToken());
      if (item.file.type) request.setRequestHeader("Content-Type", item.file.type);
      request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => {
        let answer = {};
        try { answer = JSON.parse(request.responseText); } catch (error) { /* not JSON: an HTML error page */ }
        onProgress(item.file.size);
        resolve({ path, outcome: answer.outcome || "failed", message: answer.message || `The server answered ${request.status}.` });
      };
      request.onerror = () => resolve({ path, outcome: "failed", message: "The connection to the studio was lost." });
      request.send(item.file);
    });
  }

  async function upload(items) {
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
    const overwrite = overwriteInput.checked;
    const totalBytes = items.reduce((sum, item) => sum + item.file.size, 0) || 1;
    const sent = new Array(items.length).fill(0);

    const overall = element("div", { class: "upload-overall" });
    const overallLabel = element("p", { id: "upload-overall-label" }, `Uploading ${items.length} file(s), ${formatBytes(totalBytes)}`);
    const overallBar = element("progress", { max: totalBytes, value: 0, "aria-labelledby": "upload-overall-label", class: "overall" });
    overall.append(overallLabel, overallBar);
    const list = element("ul", { class: "upload-list" });
    status.append(overall, list);

    const rows = items.map((item, index) => {
      const row = element("li");
      const label = element("span", { class: "upload-name", id: `upload-file-${index}` }, item.relativePath);
      const bar = element("progress", { max: item.file.size || 1, value: 0, "aria-labelledby": `upload-file-${index}` });
      const state = element("span", { class: "upload-state muted" }, "Waiting");
      row.append(label, bar, state);
      list.append(row);
      return { bar, state, row };
    });

    const results = new Array(items.length);
    let next = 0;
    async function worker() {
      while (next < items.length) {
        const index = next++;
        rows[index].state.textContent = "Uploading";
        results[index] = await uploadOne(items[index], folder, overwrite, (loaded) => {
          rows[index].bar.value = loaded;
          sent[index] = loaded;
          overallBar.value = sent.reduce((a, b) => a + b, 0);
        });
        const result = results[index];
        rows[index].state.textContent = { uploaded: "Uploaded", skipped: "Skipped: already there" }[result.outcome] || `Failed: ${result.message}`;
        rows[index].row.className = `upload-${result.outcome}`;
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));

    const uploaded = results.filter((r) => r.outcome === "uploaded");
    const skipped = results.filter((r) => r.outcome === "skipped");
    const failed = results.filter((r) => r.outcome === "failed");
    overallLabel.textContent = "Upload finished";
    const summary = element("div", { class: "upload-summary", role: "alert" });
    summary.append(element("p", {}, `${uploaded.length} uploaded, ${skipped.length} skipped, ${failed.length} failed.`));
    if (skipped.length) summary.append(element("p", { class: "muted" }, `Skipped (already there; tick Overwrite to replace): ${skipped.map((r) => r.path).join(", ")}`));
    failed.forEach((r) => summary.append(element("p", { class: "error" }, `${r.path}: ${r.message}`)));
    status.prepend(summary);
    refreshListing();
  }

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
    upload(await filesFromDrop(event.dataTransfer));
  });
})();
