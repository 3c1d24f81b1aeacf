"""End-to-end test of the web console (contract section 8) in headless Chromium.

Run by tests/robustness/console.rs against the real binary:
    python3 e2e.py --base URL --token TOKEN --axe AXE_MIN_JS --shots DIR --chromium PATH

The case used is built here, not taken from the public vignettes. Every check compares the page with
what the service's /v1 API answers for the same request, so nothing about the clinical answer is
hard-coded. Prints one line per check and exits 1 when any fails.
"""

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORTS = [("laptop", 1366, 900), ("tablet", 820, 1180)]
TIMEOUT_MS = 20_000

# A first lumbar medial branch block with 60% relief, in chronic pain: positive for a profile with
# a 50% threshold, partial for one with 80%, so the profiles can disagree about ablation.
CASE = {
    "region": "lumbar",
    "procedure": "medial_branch_block",
    "percent_relief": 60,
    "relief_duration": {"value": 3, "unit": "h"},
    "radicular_symptoms": False,
    "block_number": 1,
    "anesthetic": "lidocaine",
    "guidance": "fluoroscopy",
    "pain_duration_months": 14,
    "conservative_care_weeks": 16,
    "red_flags": [],
}


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what, flush=True)
        if not ok:
            self.failed += 1
        return ok


def api(base, token, path, body=None):
    """(status, JSON) of one /v1 call."""
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        request.add_header("Content-Type", "application/json")
        data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, data, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def fragment(case):
    return "#case=" + base64.urlsafe_b64encode(json.dumps(case).encode()).decode().rstrip("=")


def decode_fragment(hash_):
    text = hash_[len("#case="):]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


# Waits use selectors, never `wait_for_function`: polling a JavaScript string needs `eval`, which the
# console's Content-Security-Policy rightly forbids.


def run_axe(page, axe_source, checks, what):
    # Evaluated through the DevTools protocol: the page's Content-Security-Policy stays in force.
    page.evaluate(axe_source)
    result = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
                           ".map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,"
                           " target: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }))")
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    for violation in result:
        print(f"      axe {violation['impact']}: {violation['id']} x{violation['nodes']} {violation['target']}")
    checks.check(not serious, f"{what}: no serious or critical axe-core violation ({len(result)} violations in all)")


def tab_to(page, predicate, limit=400):
    """Presses Tab until `predicate` (JS, on document.activeElement) holds; True when it did."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return Boolean(e && ({predicate})); }})()"):
            return True
    return False


def check_viewport(browser, args, checks, axe_source, pathway, profiles, comparison, compare_status,
                   bad_case, expected_error, nested_case, nested_errors, name, width, height):
    """Every browser check at one viewport size."""
    print(f"-- {name} ({width}x{height})", flush=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    # The token prompt: /v1 wants a token, the page asks, keeps it in sessionStorage only.
    page.goto(args.base + "/console/")
    page.wait_for_selector("#token-dialog[open]")
    page.keyboard.type("not-the-token-0123456789abcdef")
    page.keyboard.press("Enter")
    page.wait_for_selector("#token-reason:has-text('did not accept')")
    checks.check(page.is_visible("#token-dialog[open]") and page.evaluate("document.activeElement.id") == "token-input",
                 f"{name}: a rejected token is asked for again")
    page.keyboard.type(args.token)
    page.keyboard.press("Enter")
    page.wait_for_selector("#graph svg .node")
    stored = page.evaluate("[sessionStorage.getItem('facet-triage-token'), localStorage.length]")
    checks.check(stored == [args.token, 0], f"{name}: the token is kept in sessionStorage only")

    # Pathway view: one box per node of the pathway, laid out without overlaps.
    boxes = page.eval_on_selector_all(
        "#graph svg .node", "nodes => nodes.map(n => [n.dataset.node, n.getBBox().x, n.getBBox().y,"
        " n.getBBox().width, n.getBBox().height])")
    checks.check(sorted(b[0] for b in boxes) == sorted(n["id"] for n in pathway["nodes"]),
                 f"{name}: the graph draws every node of the pathway ({len(boxes)})")
    overlaps = [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[1] < b[1] + b[3] and b[1] < a[1] + a[3] and a[2] < b[2] + b[4] and b[2] < a[2] + a[4]]
    checks.check(not overlaps, f"{name}: no two node boxes overlap {overlaps[:3]}")
    checks.check(page.locator("#profiles-table thead th").count() == len(profiles) + 1,
                 f"{name}: the parameters table has a column per profile")
    checks.check(page.locator("#options details").count() == len(pathway["options"]),
                 f"{name}: the catalogue lists every option")
    checks.check(page.locator("#sources-table tbody tr").count() == len(pathway["sources"]),
                 f"{name}: the sources table lists every source")

    # Keyboard only: Tab to a graph node, Enter opens its rules and outcomes.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached = tab_to(page, "e.dataset && e.dataset.node")
    if checks.check(reached, f"{name}: a graph node is reachable with Tab"):
        node_id = page.evaluate("document.activeElement.dataset.node")
        page.keyboard.press("Enter")
        node = next(n for n in pathway["nodes"] if n["id"] == node_id)
        heading = page.text_content("#node-details-heading")
        details = page.text_content("#node-details")
        checks.check(heading == node_id and all(rule in details for rule in node.get("rules", [])),
                     f"{name}: Enter on node {node_id} shows its rules")
    run_axe(page, axe_source, checks, f"{name} pathway view")
    page.screenshot(path=f"{args.shots}/pathway-{name}.png", full_page=True)

    # Case view from the fragment, as a CDS card links to it (the request names the profile it
    # was evaluated under): a column per profile, the disagreements marked.
    page.goto(args.base + "/console/" + fragment(dict(CASE, profile=profiles[-1])))
    page.wait_for_selector("#columns .column", state="attached")
    page.wait_for_selector("#results:not([hidden])")
    columns = page.eval_on_selector_all("#columns .column", "cs => cs.map(c => c.dataset.profile)")
    checks.check(columns == profiles, f"{name}: every profile the pathway lists has a column, in order {columns}")
    if compare_status == 200:
        for entry in comparison["profiles"]:
            shown = page.eval_on_selector_all(
                f"#columns .column[data-profile='{entry['profile']}'] ol.options > li", "ls => ls.map(l => l.dataset.option)")
            checks.check(shown == entry["options"], f"{name}: {entry['profile']} column lists compare's options in rank order")
        disagreeing = [item["option"] for item in comparison["disagreements"]]
        checks.check(disagreeing, f"{name}: the test case has a disagreement to show (else choose another case)")
        for option in disagreeing:
            marked = page.eval_on_selector_all(
                f"#columns li[data-option='{option}'], #columns li[data-avoid='{option}']",
                "ls => ls.map(l => l.classList.contains('disagree') && l.textContent.includes('guidelines disagree'))")
            checks.check(marked and all(marked), f"{name}: disagreement on {option} is highlighted in every column showing it")
            checks.check(page.locator(f"#disagreements tr[data-option='{option}']").count() == 1,
                         f"{name}: disagreement on {option} is listed")
        others = page.eval_on_selector_all("#columns li.disagree", "ls => ls.map(l => l.dataset.option || l.dataset.avoid)")
        checks.check(all(o in disagreeing for o in others), f"{name}: only disagreements are highlighted")
        print(f"      disagreements: {disagreeing}")
    form = page.evaluate("[document.getElementById('f-percent_relief').value,"
                         " document.getElementById('f-relief_duration-unit').value]")
    checks.check(form == ["60", '"h"'], f"{name}: the form holds the case from the fragment {form}")

    # The walk for the linked case's profile, preselected.
    checks.check(page.input_value("#trace-profile") == profiles[-1], f"{name}: the link's profile is chosen for the walk")
    page.click("#trace-button")
    page.wait_for_selector("#trace ol.trace > li")
    _, traced = api(args.base, args.token, "/v1/triage?trace=true", dict(CASE, profile=profiles[-1]))
    steps = page.eval_on_selector_all("#trace ol.trace > li > strong", "ss => ss.map(s => s.textContent)")
    checks.check(steps == [step["node"] for step in traced["trace"]], f"{name}: the walk under {profiles[-1]} is shown")
    marked = page.eval_on_selector_all("#trace svg .node.visited", "ns => ns.map(n => n.dataset.node)")
    checks.check(sorted(marked) == sorted(set(steps)), f"{name}: the walk is marked on the graph")
    run_axe(page, axe_source, checks, f"{name} case view")
    page.screenshot(path=f"{args.shots}/case-{name}.png", full_page=True)

    # Keyboard only: edit a field, the fragment follows; submit; the error appears beside its field.
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    if checks.check(tab_to(page, "e.id === 'f-percent_relief'"), f"{name}: the relief field is reachable with Tab"):
        page.keyboard.press("Control+A")
        page.keyboard.type("150")
        shared = decode_fragment(page.evaluate("location.hash"))
        # An empty red_flags array means no red flag (contract 4.1); the form sends none.
        same = {key: value for key, value in bad_case.items() if value != []}
        checks.check(shared == same, f"{name}: the fragment follows the form (round trip) {shared}")
        checks.check(tab_to(page, "e.id === 'compare-button'"), f"{name}: the compare button is reachable with Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("#e-percent_relief:not([hidden])")
        beside = page.text_content("#e-percent_relief")
        focused = page.evaluate("document.activeElement.id")
        checks.check(expected_error in beside and focused == "f-percent_relief"
                     and page.get_attribute("#f-percent_relief", "aria-invalid") == "true",
                     f"{name}: the error is shown beside its field and focused: {beside!r}")
        run_axe(page, axe_source, checks, f"{name} case view with an error")
        page.screenshot(path=f"{args.shots}/case-error-{name}.png", full_page=True)

    # A linked case the service rejects: each error beside the deepest field its pointer names.
    page.goto(args.base + "/console/" + fragment(nested_case))
    page.wait_for_selector("#form-errors:not([hidden])")
    for error in nested_errors:
        slot = "#e" + error["field"].replace("/", "-")
        shown = page.locator(slot).count() == 1 and page.is_visible(slot) and error["message"] in page.text_content(slot)
        checks.check(shown, f"{name}: the error at {error['field']} is shown beside that field")

    # Removing a list entry keeps the others, renumbered, and the fragment follows.
    first = {"procedure": "medial_branch_block", "time_ago": {"value": 30, "unit": "wk"}}
    second = {"procedure": "intra_articular_injection", "time_ago": {"value": 40, "unit": "wk"}}
    page.goto(args.base + "/console/" + fragment(dict(CASE, procedure_history=[first, second])))
    page.wait_for_selector("[data-field='/procedure_history/1']")
    page.get_by_role("button", name="Remove earlier procedure 1").click()
    kept = decode_fragment(page.evaluate("location.hash")).get("procedure_history")
    focused = page.evaluate("document.activeElement.id")
    checks.check(kept == [second] and focused == "f-procedure_history-0-procedure",
                 f"{name}: removing the first earlier procedure keeps the second, focused {kept} {focused}")

    # A 422 is an expected answer, which Chromium reports as a failed resource load; anything else is an error.
    unexpected = [p for p in problems if "status of 422" not in p and "status of 401" not in p]
    for problem in problems:
        print(f"      console: {problem}")
    checks.check(not unexpected, f"{name}: no browser console errors beyond the expected 401 and 422 answers")
    context.close()


def main():
    parser = argparse.ArgumentParser()
    for name in ("--base", "--token", "--axe", "--shots", "--chromium"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    axe_source = open(args.axe, encoding="utf-8").read()
    checks = Checks()

    listing = api(args.base, args.token, "/v1/pathways")[1]
    pathway = api(args.base, args.token, f"/v1/pathways/{listing['default_pathway']}")[1]
    profiles = [profile["id"] for profile in pathway["profiles"]]
    compare_status, comparison = api(args.base, args.token, "/v1/triage/compare", CASE)
    checks.check(compare_status == 200, f"the API compares the test case (status {compare_status})")
    bad_case = dict(CASE, percent_relief=150)
    bad_status, bad_answer = api(args.base, args.token, "/v1/triage", bad_case)
    expected_error = next((e["message"] for e in bad_answer.get("errors", []) if e["field"] == "/percent_relief"), None)
    checks.check(bad_status == 422 and expected_error, "the API rejects percent_relief 150 at /percent_relief")

    nested_case = dict(CASE, relief_duration={"value": 3})
    nested_status, nested_answer = api(args.base, args.token, "/v1/triage", nested_case)
    nested_errors = nested_answer.get("errors", [])
    checks.check(nested_status == 422 and any(e["field"].count("/") > 1 for e in nested_errors),
                 f"the API rejects a duration without its unit at a nested pointer {nested_errors}")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
        for name, width, height in VIEWPORTS:
            try:
                check_viewport(browser, args, checks, axe_source, pathway, profiles, comparison, compare_status,
                               bad_case, expected_error, nested_case, nested_errors, name, width, height)
            except Exception as error:  # a timeout or a missing element: report it, try the next size
                checks.check(False, f"{name}: {type(error).__name__}: {error}")
        browser.close()
    print(f"{checks.failed} checks failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
