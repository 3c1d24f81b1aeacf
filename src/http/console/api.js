// The console's only door to the service: `fetch` on the public /v1 API, with the bearer token
// kept in sessionStorage when the service asks for one (401), and problem documents turned into
// errors the views can show.

const TOKEN_KEY = "facet-triage-token";

/** An answer that is not 2xx: `status` and the problem document (if the body is one). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `the service answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let asking = null;

/** Asks for a token in the dialog; resolves with it, or null when the user cancels. */
function askToken(again) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const reason = document.getElementById("token-reason");
  if (again) {
    reason.textContent = "The service did not accept that token. Enter another one; it is kept for this browser tab only (session storage).";
  }
  asking = new Promise((resolve) => {
    const done = (token) => {
      form.removeEventListener("submit", onSubmit);
      document.getElementById("token-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      asking = null;
      resolve(token);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      input.value = "";
      sessionStorage.setItem(TOKEN_KEY, token);
      done(token);
    };
    const onCancel = (event) => {
      event.preventDefault();
      done(null);
    };
    form.addEventListener("submit", onSubmit);
    document.getElementById("token-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** One call to /v1; JSON in and out. Asks for a token on 401 and retries with it. */
export async function call(path, body) {
  let retried = false;
  for (;;) {
    const headers = { Accept: "application/json, application/problem+json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { headers, cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const answer = await fetch(path, init);
    if (answer.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      const given = await askToken(retried || Boolean(token));
      if (given === null) throw new ApiError(401, { detail: "No API token was given." });
      retried = true;
      continue;
    }
    const type = answer.headers.get("Content-Type") || "";
    const json = type.includes("json") ? await answer.json() : null;
    if (!answer.ok) throw new ApiError(answer.status, json);
    return json;
  }
}
