#!/usr/bin/env python3
"""Browser tests of Kring's staff web app: headless Chromium walks what a person at the desk does.

Every page visited is saved as a PNG (named by test and step) and checked: Dutch (`<html lang="nl">`), its stylesheet
applied, no sideways scrolling at 1280 px, no error in the browser console (a blocked script or style shows there),
the HTTP status expected, and axe-core (axe-selenium-python) with no violation of impact `serious` or `critical`
(milder ones are printed as notes).

The users come from the runner, Admin/tests/run.sh, which creates fresh ones with `kring user create`, so the shared
demo logins are never changed:
  KRING_BROWSER_PASSWORD   the password of all of them
  KRING_BROWSER_USER_A     frontdesk of library A: turns two-factor on and works with a member (test_1)
  KRING_BROWSER_USER_A2    frontdesk of library A: the colleague of the edit conflict (test_1), registers and checks in
                           (test_2), A's side in test_4
  KRING_BROWSER_USER_B     frontdesk of library B (test_4)
  KRING_BROWSER_USER_M     marketing of library A: creates the activity of test_2
  KRING_BROWSER_USER_R     relations of library A: works through Mijn taken and Relaties (test_5)
  KRING_BROWSER_USER_N     analyst of library A: counts a segment without seeing anyone (test_6)
  KRING_BROWSER_USER_T     administrator of library A: sees what the retention terms would remove (test_11)
  KRING_BROWSER_MAIL_DIR   the folder where the SMTP server the server mails through keeps each message (test_6)
  KRING_BROWSER_LIBRARY_A / _B   their libraries' slugs (zuid-kennemerland, amstelland)
  KRING_BROWSER_NEW_LIBRARY  a library new for this run (no branches, no customers): test_3 imports its members
  KRING_BROWSER_NEW_ADMIN    its tenant admin (test_3)
Each can also be given as an argument (--user-a and so on).
test_2 takes member numbers from the database with psql as KRING_OWNER_DATABASE_URL (--owner-database-url), and
test_3 checks there what its import wrote, and test_5 puts its tasks there.

Usage: browser_test.py --base http://127.0.0.1:8080 --shots DIR [--only test_1]
Prints PASS/FAIL/SKIP per test and closes with 'N passed, N failed, N skipped'; exits 0 when none failed, 1 otherwise,
2 when it could not start.
Runs under a Python that sees Selenium and axe-selenium-python (run.sh uses the venv it installs).
"""

import argparse
import base64
import csv
import hashlib
import hmac
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

try:
    from axe_selenium_python import Axe
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as error:  # pragma: no cover - told to the person running it
    print(f"browser_test: {error}. Run Admin/tests/run.sh --install, then use its venv "
          "(~/.cache/kring/browser/bin/python).", file=sys.stderr)
    sys.exit(2)

CHROMEDRIVER = os.environ.get("KRING_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("KRING_CHROMIUM", "/usr/bin/chromium")
WAIT = 20  # seconds for a page or an element


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# MARK: Two-factor codes

def totp_key(typed):
    """The secret's bytes from the key the page shows to type (base32 in groups of 4, without padding)."""
    compact = "".join(typed.split()).upper()
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def totp(key, step):
    """RFC 6238: HMAC-SHA1 over the 30 s counter, 6 digits."""
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


def current_step():
    return int(time.time() // 30)


def step_after(used, log):
    """The first 30 s window after `used` (a code works once), waiting for it when needed."""
    step = current_step()
    if step <= used:
        wait = (used + 1) * 30 - time.time() + 0.5
        log(f"waiting {wait:.0f} s for the next code window")
        time.sleep(max(0, wait))
        step = current_step()
    return step


# MARK: One browser

class Browser:
    """A headless Chromium of one test, with the checks every page gets."""

    def __init__(self, run, label):
        self.run = run
        self.label = label
        self.enrolled_at_sign_in = None
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--lang=nl-NL", "--disable-search-engine-choice-screen", "--no-first-run"]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)

    def quit(self):
        try:
            self.driver.quit()
        except Exception:
            pass

    # Navigation

    def open(self, path, step, status=200):
        self.driver.get(self.run.base + path)
        return self.page(step, status)

    def submit(self, button, step, status=200):
        """Clicks a submit button and waits for the page the form leads to."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        WebDriverWait(self.driver, WAIT).until(lambda d: self._stale(old))
        return self.page(step, status)

    def click_link(self, link, step, status=200):
        return self.submit(link, step, status)

    def submit_confirmed(self, button, step, status=200):
        """Clicks a submit button that asks first (data-confirm: kring.js calls window.confirm), accepts the question
        and waits for the page the form leads to. Answers the question asked."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        alert = WebDriverWait(self.driver, WAIT).until(expected_conditions.alert_is_present())
        question = alert.text
        alert.accept()
        WebDriverWait(self.driver, WAIT).until(lambda d: self._stale(old))
        self.page(step, status)
        return question

    @staticmethod
    def _stale(element):
        try:
            element.tag_name
            return False
        except Exception:
            return True

    # What every page gets

    def page(self, step, status=200):
        driver = self.driver
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")
        name = self.run.shot_name(self.label, step)
        where = f"{name} ({urllib.parse.urlsplit(driver.current_url).path})"
        seen = self.document_status()
        if seen is not None and seen != status:
            self.run.problem(f"{where}: HTTP status {seen}, expected {status}")
        shape = driver.execute_script("""
            const topbar = document.querySelector('.topbar');
            return {lang: document.documentElement.lang, title: document.title,
                    styled: topbar ? getComputedStyle(topbar).borderBottomWidth : null,
                    scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth,
                    h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent.trim())};""")
        if shape["lang"] != "nl":
            self.run.problem(f"{where}: <html lang> is {shape['lang']!r}, expected 'nl'")
        if not shape["title"].endswith("· Kring"):
            self.run.problem(f"{where}: title {shape['title']!r} does not end in '· Kring'")
        if shape["styled"] != "4px":
            self.run.problem(f"{where}: the stylesheet is not applied (top bar border {shape['styled']!r})")
        if shape["scrollWidth"] > shape["width"]:
            self.run.problem(f"{where}: the page scrolls sideways ({shape['scrollWidth']} px wide in a {shape['width']} px window)")
        if len(shape["h1"]) != 1:
            self.run.problem(f"{where}: {len(shape['h1'])} h1 headings, expected one: {shape['h1']}")
        self.run.screenshot(driver, name)
        for entry in driver.get_log("browser"):
            if entry.get("level") != "SEVERE":
                continue
            message = entry.get("message", "")
            if status >= 400 and "Failed to load resource" in message and f"status of {status}" in message:
                continue  # the page itself, answering the error status it should
            self.run.problem(f"{where}: browser console: {message}")
        self.run.axe(driver, where)
        return driver

    def document_status(self):
        """The HTTP status of the page now shown (the last document response in Chromium's performance log)."""
        status = None
        try:
            entries = self.driver.get_log("performance")
        except Exception:
            return None
        for entry in entries:
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.responseReceived" and message["params"].get("type") == "Document":
                status = message["params"]["response"]["status"]
        return status

    # Helpers for forms and text

    def find(self, css):
        return WebDriverWait(self.driver, WAIT).until(lambda d: d.find_element(By.CSS_SELECTOR, css))

    def finds(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css):
        return self.find(css).text.strip()

    def type(self, css, value):
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def set_value(self, css, value):
        """A date or time field as its picker would fill it (what one types into them depends on the browser's locale)."""
        self.driver.execute_script("""
            const field = arguments[0];
            field.value = arguments[1];
            field.dispatchEvent(new Event('input', {bubbles: true}));
            field.dispatchEvent(new Event('change', {bubbles: true}));""", self.find(css), value)
        check(self.find(css).get_attribute("value") == value, f"{css} does not take {value!r}")

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def fragment(self):
        return urllib.parse.urlsplit(self.driver.current_url).fragment

    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.driver.current_url).query)

    def button(self, text, scope="main"):
        for element in self.finds(f"{scope} button, {scope} a.button"):
            if element.text.strip() == text:
                return element
        raise Failure(f"{self.label}: no button {text!r} on {self.path()}")

    # Signing in and out

    def sign_in(self, email, password, library, step="inloggen", status=200):
        """E-mail, password and library. Where the library requires two-factor (a setting its admin may have
        turned on in this server's data), a user without it sets it up here and is then signed in."""
        self.open("/inloggen", f"{step}-formulier")
        self.type("#email", email)
        self.type("#password", password)
        Select(self.find("#library")).select_by_value(library)
        self.submit(self.find("form[action='/inloggen'] button.primary"), step, status)
        self.enrolled_at_sign_in = None
        if self.path() == "/inloggen/instellen":
            self.run.log(f"{library} requires two-factor: {self.label} sets it up while signing in")
            self.enrolled_at_sign_in = self.enrol(f"{step}-instellen")
            self.click_link(self.button("Ik heb de codes bewaard, verder"), f"{step}-na-herstelcodes")
        return self.driver

    def enrol(self, step):
        """On a two-factor set-up page: the code from the typed key (as an authenticator app would make it), then
        the ten recovery codes. Answers (key, the 30 s step of the code used)."""
        typed = self.text("code.secret")
        check(re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})*", typed), f"the typed key {typed!r} is not base32 in groups of 4")
        key = totp_key(typed)
        used = current_step()
        self.type("#code", totp(key, used))
        self.submit(self.find("main form[method=post] button.primary"), f"{step}-herstelcodes")
        codes = [c.text.strip() for c in self.finds("ul.codes li code")]
        check(len(codes) == 10 and all(codes) and len(set(codes)) == 10,
              f"expected 10 different recovery codes after setting up two-factor, got {codes} on {self.driver.current_url}")
        return key, used

    def sign_out(self, step="uitgelogd"):
        self.submit(self.find("header form[action='/uitloggen'] button"), step)
        check(self.path() == "/inloggen", f"{self.label}: signing out led to {self.driver.current_url}")
        check("U bent uitgelogd" in self.text("main"), f"{self.label}: no 'U bent uitgelogd' after signing out")

    # Plain HTTP with this browser's cookies

    def http(self, method, path, data=None):
        """(status, body) of a request with this browser's cookies, redirects not followed."""
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())
        request = urllib.request.Request(self.run.base + path, method=method,
                                         data=urllib.parse.urlencode(data).encode() if data is not None else None)
        request.add_header("cookie", cookies)
        if data is not None:
            request.add_header("content-type", "application/x-www-form-urlencoded")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def download(self, path):
        """(status, headers with lower-case names, body bytes) of a GET with this browser's cookies: a file the page
        offers as a download."""
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())
        request = urllib.request.Request(self.run.base + path, headers={"cookie": cookies})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# MARK: The run

class Run:
    def __init__(self, options):
        self.base = options.base.rstrip("/")
        self.shots = Path(options.shots)
        self.shots.mkdir(parents=True, exist_ok=True)
        self.password = options.password
        self.mail_dir = options.mail_dir
        self.users = {"a": options.user_a, "a2": options.user_a2, "b": options.user_b, "m": options.user_m, "r": options.user_r,
                      "n": options.user_n, "t": options.user_t, "p": options.user_p}
        self.platform_secret = options.platform_secret
        self.owner_database_url = options.owner_database_url
        self.library_a = options.library_a
        self.library_b = options.library_b
        self.new_library = options.new_library
        self.new_admin = options.new_admin
        self.test = None
        self.counter = 0
        self.problems = []
        self.notes = []
        self.reviews = set()
        self.browsers = []
        self.tag = f"{time.strftime('%H%M%S')}{random.randint(10, 99)}"

    def log(self, message):
        print(f"  {self.test}: {message}", flush=True)

    def shot_name(self, label, step):
        self.counter += 1
        safe = re.sub(r"[^a-z0-9-]+", "-", step.lower()).strip("-")
        return f"{self.test}-{self.counter:02d}-{label}-{safe}"

    def screenshot(self, driver, name):
        """The whole page, not only the window."""
        path = self.shots / f"{name}.png"
        try:
            metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": max(size["width"], 1280), "height": max(size["height"], 1), "scale": 1}})
            path.write_bytes(base64.b64decode(shot["data"]))
        except Exception:
            driver.save_screenshot(str(path))

    def axe(self, driver, where):
        axe = Axe(driver)
        axe.inject()
        results = axe.run()
        def targets(item):
            return ", ".join(" ".join(map(str, node["target"])) for node in item.get("nodes", []))
        for violation in results.get("violations", []):
            impact = violation.get("impact") or "unknown"
            line = f"{where}: axe {violation['id']} ({impact}): {violation.get('help', '')} -- {targets(violation)}"
            if impact in ("serious", "critical"):
                self.problem(line)
            else:
                self.note(line)
        # What axe could not decide (e.g. contrast over an image) is for a person to look at, not a failure:
        # told once per test.
        for review in results.get("incomplete", []):
            if review.get("impact") not in ("serious", "critical"):
                continue
            reasons = sorted({check["message"] for node in review.get("nodes", [])
                              for check in node.get("any", []) + node.get("all", []) + node.get("none", [])})
            what = f"axe needs review: {review['id']} ({review['impact']}) -- {targets(review)}: {' / '.join(reasons)}"
            if what not in self.reviews:
                self.reviews.add(what)
                self.note(f"{where}: {what}")

    def problem(self, message):
        """A failed check on a page: the test goes on, and fails at its end."""
        print(f"  {self.test}: PROBLEM {message}", flush=True)
        self.problems.append(message)

    def note(self, message):
        print(f"  {self.test}: note {message}", flush=True)
        self.notes.append(message)

    def browser(self, label):
        browser = Browser(self, label)
        self.browsers.append(browser)
        return browser

    def owner_sql(self, sql):
        """The rows (lists of text) of a query as the database's owner through psql: for what the pages do not list."""
        if not self.owner_database_url:
            raise Failure("no database: set KRING_OWNER_DATABASE_URL (Admin/tests/run.sh does)")
        done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                               "-d", self.owner_database_url, "-c", sql], capture_output=True, text=True, timeout=60)
        check(done.returncode == 0, f"psql failed: {done.stderr.strip()}")
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def schema(self, library):
        check(re.fullmatch(r"[a-z][a-z0-9-]{1,38}", library), f"not a library slug: {library!r}")
        return "t_" + library.replace("-", "_")

    def user(self, key):
        email = self.users[key]
        if not email or not self.password:
            raise Failure(f"no user {key!r}: set KRING_BROWSER_USER_{key.upper()} and KRING_BROWSER_PASSWORD (Admin/tests/run.sh does)")
        return email


# MARK: Tests

def test_1_frontdesk(run):
    """A new frontdesk colleague turns two-factor on, signs in with it, and works with a member at the desk."""
    a = run.browser("a")
    email, password = run.user("a"), run.password

    # Signing in with e-mail, password and library: two-factor is still off (unless the library requires it).
    a.sign_in(email, password, run.library_a, "inloggen")
    check(a.path() == "/", f"signing in led to {a.driver.current_url}, expected the start page")
    if a.enrolled_at_sign_in:
        key, enrolled = a.enrolled_at_sign_in
    else:
        a.open("/account", "mijn-account")
        check("Staat uit" in a.text("main"), "Mijn account does not say two-factor is off for a new user")
        # Two-factor from "Mijn account": the typed key gives the code an authenticator app would show.
        a.click_link(a.button("Tweestapsverificatie instellen"), "tweestaps-instellen")
        check(a.path() == "/account/tweestaps", f"the set-up link led to {a.driver.current_url}")
        key, enrolled = a.enrol("tweestaps")
        a.click_link(a.button("Ik heb de codes bewaard, verder"), "na-herstelcodes")
    a.open("/account", "mijn-account-tweestaps-aan")
    check("Staat aan" in a.text("main") and "10 ongebruikte herstelcodes" in a.text("main"),
          f"Mijn account does not show two-factor on with 10 codes: {a.text('main')[:300]!r}")

    # Out, and in again: now the code is asked after the password.
    a.sign_out("uitgelogd")
    a.sign_in(email, password, run.library_a, "inloggen-met-tweestaps")
    check(a.path() == "/inloggen/code", f"after the password with two-factor on: {a.driver.current_url}")
    step = step_after(enrolled, run.log)
    a.type("#code", totp(key, step))
    a.submit(a.find("form[action='/inloggen/code'] button.primary"), "ingelogd-met-code")
    check(a.path() == "/", f"the code led to {a.driver.current_url}, expected the start page")

    # A member, found by member number through the search box in the top bar ("/" jumps there).
    customer = pick_adult_member(a)
    run.log(f"member {customer['member']} ({customer['name']}), {customer['href']}")
    a.driver.find_element(By.TAG_NAME, "body").send_keys("/")
    check(a.driver.switch_to.active_element.get_attribute("id") == "zoek", "the '/' key does not focus the search box #zoek")
    a.driver.switch_to.active_element.send_keys(customer["member"])
    old = a.driver.find_element(By.TAG_NAME, "html")
    a.driver.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(a.driver, WAIT).until(lambda d: a._stale(old))
    a.page("klant-via-lidnummer")
    check(a.path() == customer["href"], f"searching member number {customer['member']} led to {a.driver.current_url}, not {customer['href']}")
    check(customer["member"] in a.text("dl.facts"), "the customer page does not show the member number")

    # A phone call.
    subject = f"Vraag over reservering (browsertest {run.tag})"
    a.click_link(a.button("Contactmoment vastleggen"), "contactmoment-formulier")
    Select(a.find("#channel")).select_by_value("phone")
    a.find("input[name=direction][value=inbound]").click()
    a.type("#subject", subject)
    a.type("#body", "Belde over een gereserveerd boek dat nog niet binnen is.")
    a.submit(a.find("form[action$='/contactmoment'] button.primary"), "contactmoment-vastgelegd")
    check(a.path() == customer["href"] and a.query().get("gedaan") == ["contactmoment"], f"after the contact moment: {a.driver.current_url}")
    check("Het contactmoment is vastgelegd" in a.text(".notice"), "no notice after the contact moment")
    timeline = a.text("ol.timeline")
    check(subject in timeline, f"the contact moment is not on the timeline: {timeline[:300]!r}")
    line = next(li.text for li in a.finds("ol.timeline li") if subject in li.text)
    check("telefoon" in line, f"the timeline line does not say it was by phone: {line!r}")

    # A newsletter consent (the first topic offered).
    how = f"telefonisch (browsertest {run.tag})"
    a.click_link(a.button("Toestemming vastleggen"), "toestemming-formulier")
    topic = Select(a.find("#topic"))
    choices = [o for o in topic.options if o.get_attribute("value")]
    check(choices, "the consent form offers no topic")
    topic_value, topic_label = choices[0].get_attribute("value"), choices[0].text.strip()
    topic.select_by_value(topic_value)
    a.find("input[name=status][value=confirmed]").click()
    a.type("#how", how)
    a.submit(a.find("form[action$='/toestemming'] button.primary"), "toestemming-vastgelegd")
    check(a.query().get("gedaan") == ["toestemming"], f"after the consent: {a.driver.current_url} {a.text('main')[:300]!r}")
    check("De toestemming is vastgelegd" in a.text(".notice"), "no notice after the consent")
    consent = next((li.text for li in a.finds("section[aria-labelledby=toestemmingen] li") if how in li.text), None)
    check(consent is not None, f"the consent is not on the customer page: {a.text('section[aria-labelledby=toestemmingen]')!r}")
    check("gegeven" in consent, f"the consent line does not say it was given: {consent!r}")
    if topic_label not in consent:
        run.note(f"customer page shows the consent as {consent.splitlines()[0]!r}, not by the name offered in the form ({topic_label!r})")

    # A new address.
    number = str(random.randint(2, 399))
    a.click_link(a.button("Gegevens wijzigen"), "gegevens-formulier")
    a.type("#f-street", "Browsertestlaan")
    a.type("#f-house_number", number)
    a.find("#f-house_number_addition").clear()
    a.type("#f-postcode", "2011 AB")
    a.type("#f-city", "Haarlem")
    a.submit(a.find("form[action$='/bewerken'] button.primary"), "gegevens-opgeslagen")
    check(a.query().get("gedaan") == ["opgeslagen"], f"saving the address did not succeed: {a.driver.current_url} {a.text('main')[:400]!r}")
    check("De gegevens zijn opgeslagen" in a.text(".notice"), "no notice after saving the address")
    facts = a.text("dl.facts")
    check(f"Browsertestlaan {number}, 2011 AB Haarlem" in facts, f"the new address is not on the customer page: {facts!r}")

    # Two colleagues edit at once: the second one's stale save shows what changed and keeps what they typed.
    b = run.browser("a2")
    b.sign_in(run.user("a2"), password, run.library_a, "collega-inloggen")
    check(b.path() == "/", f"the colleague's sign-in led to {b.driver.current_url}")
    b.open(customer["href"] + "/bewerken", "collega-opent-formulier")
    old_phone = b.find("#f-phone").get_attribute("value")
    phone = f"023 555 {random.randint(1000, 9999)}"
    a.open(customer["href"] + "/bewerken", "eerste-opent-formulier")
    a.type("#f-phone", phone)
    a.submit(a.find("form[action$='/bewerken'] button.primary"), "eerste-slaat-op")
    check(a.query().get("gedaan") == ["opgeslagen"], f"the first save failed: {a.text('main')[:400]!r}")
    b.type("#f-city", "Heemstede")
    b.submit(b.find("form[action$='/bewerken'] button.primary"), "collega-conflict", status=409)
    summary = b.text(".error-summary")
    check("Een collega heeft deze klant intussen gewijzigd" in summary, f"no conflict summary: {b.text('main')[:400]!r}")
    check("Telefoon" in summary and phone in summary, f"the conflict does not show the colleague's new phone {phone}: {summary!r}")
    check(b.find("#f-city").get_attribute("value") == "Heemstede", "the conflict page lost the city the colleague typed")
    check(b.find("#f-phone").get_attribute("value") == phone,
          f"the conflict page does not take over the phone the first colleague saved ({phone!r}; the form holds "
          f"{b.find('#f-phone').get_attribute('value')!r}): saving again would undo their change")
    focused = b.driver.switch_to.active_element
    if "error-summary" not in (focused.get_attribute("class") or ""):
        run.note("the conflict page does not move the focus to its error summary")
    b.submit(b.find("form[action$='/bewerken'] button.primary"), "collega-slaat-opnieuw-op")
    check(b.query().get("gedaan") == ["opgeslagen"], f"saving again after the conflict failed: {b.text('main')[:400]!r}")
    facts = b.text("dl.facts")
    check(f"Browsertestlaan {number}, 2011 AB Heemstede" in facts, f"the colleague's city is not kept: {facts!r}")
    check(phone in facts, f"saving again after the conflict lost the first colleague's phone {phone!r} "
                          f"(the form had {old_phone!r}): {facts!r}")


def pick_adult_member(browser):
    """A member of library A who is 18 or older (a consent of someone under 16 goes through a parent) and not erased:
    from the search list, checked by reading the customer page over plain HTTP (not a page the test visits)."""
    browser.open("/klanten?q=a", "zoeken-op-a")
    rows = []
    for row in browser.finds("table.list tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        link = cells[0].find_element(By.TAG_NAME, "a")
        rows.append({"name": link.text.strip(), "href": urllib.parse.urlsplit(link.get_attribute("href")).path,
                     "member": cells[1].text.strip()})
    check(rows, "searching 'a' found nobody in the demo data")
    random.shuffle(rows)
    year = int(time.strftime("%Y"))
    for row in rows:
        if not re.fullmatch(r"[0-9A-Za-z-]+", row["member"] or ""):
            continue
        status, html = browser.http("GET", row["href"])
        if status != 200 or "Gegevens wijzigen" not in html or "Toestemming vastleggen" not in html:
            continue
        born = re.search(r"<dt>Geboortedatum</dt><dd>[^<]*?(\d{4})</dd>", html)
        if born and year - int(born.group(1)) >= 19:
            return row
    raise Failure("no adult member with a member number among the first results of 'a'")


MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november",
          "december"]
WEEKDAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]  # date.weekday() order


def dutch_date(day):
    """8 december 2026, as the pages write it."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def test_2_checkin(run):
    """At an activity's door three registrations are checked in and one is marked no-show; the waiting list moves up
    when a booking is cancelled.

    A fresh marketing user creates an activity for tomorrow with 4 places (the front desk may not); a frontdesk user
    registers 5 adult members by member number, the 5th going on the waiting list; cancelling one booking moves the
    waiting person up; then at the door three are marked present and one not shown. (The cancellation comes before
    the door: only a booked registration can be cancelled, and with 4 places all 4 booked ones are marked there.)"""
    tomorrow = datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)
    monday = tomorrow - timedelta(days=tomorrow.weekday())
    week = f"/activiteiten?week={monday.isoformat()}"
    title = f"Voorleesmiddag (browsertest {run.tag})"

    # Marketing creates the activity: tomorrow 14:00-15:30, 4 places, € 2,50, at one of the branches.
    m = run.browser("m")
    m.sign_in(run.user("m"), run.password, run.library_a, "marketing-inloggen")
    check(m.path() == "/", f"marketing's sign-in led to {m.driver.current_url}")
    m.open(week, "marketing-week")
    m.click_link(m.button("Nieuwe activiteit"), "nieuwe-activiteit")
    check(m.path() == "/activiteiten/nieuw", f"'Nieuwe activiteit' led to {m.driver.current_url}")
    m.type("#title", title)
    m.type("#category", "voorlezen")
    branches = Select(m.find("#branch"))
    choices = [(o.get_attribute("value"), o.text.strip()) for o in branches.options if o.get_attribute("value")]
    check(choices, "the activity form offers no branch")
    branch_id, branch_name = random.choice(choices)
    branches.select_by_value(branch_id)
    m.set_value("#date", tomorrow.isoformat())
    m.set_value("#start", "14:00")
    m.set_value("#end", "15:30")
    m.type("#capacity", "4")
    m.type("#price", "2,50")
    m.submit(m.find("form[action='/activiteiten/nieuw'] button.primary"), "activiteit-opgeslagen")
    found = re.fullmatch(r"/activiteiten/([0-9a-f-]{36})", m.path())
    check(found and m.query().get("gedaan") == ["opgeslagen"],
          f"saving the activity led to {m.driver.current_url}: {m.text('main')[:400]!r}")
    activity_id = found.group(1)
    href = f"/activiteiten/{activity_id}"
    run.log(f"activity {href} on {tomorrow} at {branch_name}")
    check("De activiteit is opgeslagen" in m.text(".notice"), "no notice after saving the activity")
    check(m.text("h1") == title, f"the new activity's page is headed {m.text('h1')!r}")
    header = m.text(".record-header")
    weekday = WEEKDAYS[tomorrow.weekday()]
    when = f"{weekday[:1].upper()}{weekday[1:]} {dutch_date(tomorrow)}, 14:00–15:30"
    for part in [when, branch_name, "€ 2,50", "Nog 4 plaatsen vrij van 4"]:
        check(part in header, f"the new activity's header lacks {part!r}: {header!r}")

    # The front desk may not create activities, but registers and checks in.
    d = run.browser("a2")
    d.sign_in(run.user("a2"), run.password, run.library_a, "balie-inloggen")
    check(d.path() == "/", f"the front desk's sign-in led to {d.driver.current_url}")
    d.open("/activiteiten/nieuw", "balie-nieuwe-activiteit", status=403)
    check(d.text("h1") == "Geen toegang", f"the front desk may open the new activity form: {d.text('main')[:300]!r}")
    signed_in_chrome(d, "the 403 page")

    # The week's programme shows it on its day, with its places.
    d.open(f"{week}&vestiging={branch_id}", "week-van-de-activiteit")
    check(not [b for b in d.finds("main a.button") if b.text.strip() == "Nieuwe activiteit"],
          "the week page offers the front desk 'Nieuwe activiteit'")
    check(Select(d.find("#vestiging")).first_selected_option.get_attribute("value") == branch_id,
          "the week page does not show its branch filter as chosen")
    heading = d.text("nav.pager h2")
    expected = f"Week {monday.isocalendar()[1]}: {dutch_date(monday)} t/m {dutch_date(monday + timedelta(days=6))}"
    check(heading == expected, f"the week page is headed {heading!r}, expected {expected!r} (ISO week numbers)")
    day, cells, link = week_entry(d, href)
    check(day == f"{WEEKDAYS[tomorrow.weekday()].capitalize()} {dutch_date(tomorrow)}",
          f"the activity is listed under {day!r}, not tomorrow ({tomorrow})")
    check(cells == ["14:00–15:30", title, branch_name, "nog 4 plaatsen vrij van 4"], f"the week page lists it as {cells}")
    d.click_link(link, "activiteit")
    check(d.path() == href, f"the week page's link led to {d.driver.current_url}")
    check(not [b for b in d.finds("main a.button") if b.text.strip() == "Activiteit wijzigen"],
          "the activity page offers the front desk 'Activiteit wijzigen'")

    # Five adult members by member number: four places, then the waiting list.
    members = pick_members(run, activity_id, 5)
    run.log(f"members {', '.join(members)}")
    for index, member in enumerate(members, 1):
        d.type("#klant", member)
        d.submit(d.button("Aanmelden"), f"aanmelden-{index}")
        outcome = "aangemeld" if index <= 4 else "wachtlijst"
        check(d.path() == href and d.query().get("gedaan") == [outcome],
              f"registering member {member} ({index}) led to {d.driver.current_url}, expected gedaan={outcome}: "
              f"{d.text('main')[:400]!r}")
        if index <= 4:
            check(d.text(".notice") == "De klant is aangemeld.", f"after registering {member}: {d.text('.notice')!r}")
            row = registration_row(d, member)
            check(row and row["status"] == "aangemeld", f"member {member} is not in the registrations as aangemeld: {row}")
    check("De activiteit is vol: de klant staat op de wachtlijst." in d.text(".notice"),
          f"the 5th registration does not say it is on the waiting list: {d.text('.notice')!r}")
    check(registration_row(d, members[4]) is None, "the 5th member is in the registrations table, not on the waiting list")
    waiting = [li for li in d.finds("ol.numbered li") if f"({members[4]})" in li.text]
    check("Wachtlijst" in [h.text.strip() for h in d.finds("main h3")] and len(waiting) == 1,
          f"the 5th member ({members[4]}) is not on the Wachtlijst: {d.text('main')[:600]!r}")
    waiting_id = waiting[0].get_attribute("id")
    check(d.text(".record-header strong") == "Vol, 1 op de wachtlijst", f"the places when full: {d.text('.record-header strong')!r}")
    rows = {row["member"]: row for row in registration_rows(d)}
    check(sorted(rows) == sorted(members[:4]), f"the registrations table lists {sorted(rows)}, expected {sorted(members[:4])}")

    # The same member twice is refused, and the page keeps what was typed.
    d.type("#klant", members[0])
    d.submit(d.button("Aanmelden"), "dubbel-aanmelden", status=422)
    check("al aangemeld" in d.text(".error-summary"), f"registering {members[0]} twice: {d.text('main')[:300]!r}")
    check(d.find("#klant").get_attribute("value") == members[0], "the error page lost the member number typed")
    if "error-summary" not in (d.driver.switch_to.active_element.get_attribute("class") or ""):
        run.note("the registration error does not move the focus to its error summary")

    # The week's programme says it is full, with one waiting.
    d.open(f"{week}&vestiging={branch_id}", "week-vol")
    _, cells, link = week_entry(d, href)
    check(cells[3] == "vol, 1 op de wachtlijst", f"the week page gives the full activity's places as {cells[3]!r}")
    check(link.find_elements(By.XPATH, "ancestor::tr//strong"), "the week page does not set a full activity's places in bold")
    d.click_link(link, "activiteit-vol")

    # A booking is cancelled (the page asks first): the waiting person moves up.
    leaving = rows[members[1]]
    button = d.find(f"tr#{leaving['id']} form[data-confirm] button")
    question = d.submit_confirmed(button, "afgemeld")
    check(question == f"{leaving['name']} afmelden?", f"cancelling asks {question!r}")
    check(d.path() == href and d.query().get("gedaan") == ["bijgewerkt"], f"cancelling led to {d.driver.current_url}")
    check(d.text(".notice") == "De aanmelding is bijgewerkt.", f"after cancelling: {d.text('.notice')!r}")
    check(not d.finds(f"tr#{leaving['id']}"), f"the cancelled registration {leaving['id']} is still in the table")
    afgemeld = d.finds("main h3 + ul.plain li")
    check([li.text.strip() for li in afgemeld] == [leaving["name"]], f"the Afgemeld list is {[li.text for li in afgemeld]}")
    moved = d.finds(f"tr#{waiting_id}")
    check(moved and registration_row(d, members[4]) and registration_row(d, members[4])["status"] == "aangemeld",
          f"the waiting member {members[4]} did not move up into the registrations: {d.text('main')[:600]!r}")
    check("Wachtlijst" not in [h.text.strip() for h in d.finds("main h3")] and not d.finds("ol.numbered"),
          "the Wachtlijst is still shown after the waiting person moved up")
    check(d.text(".record-header strong") == "Vol", f"the places after moving up: {d.text('.record-header strong')!r}")
    if d.fragment() and not d.finds(f"[id='{d.fragment()}']"):
        run.note(f"after Afmelden the page is sent to #{d.fragment()}, which is not on it (the cancelled row is gone)")

    # At the door: three present, one not shown.
    booked = [members[0], members[2], members[3], members[4]]
    rows = {row["member"]: row for row in registration_rows(d)}
    check(sorted(rows) == sorted(booked), f"before the door the table lists {sorted(rows)}, expected {sorted(booked)}")
    d.click_link(d.button("Aanwezigheid bij de deur"), "deur")
    door = f"{href}/deur"
    check(d.path() == door, f"'Aanwezigheid bij de deur' led to {d.driver.current_url}")
    listed = sorted(li.get_attribute("id") for li in d.finds("li.door-row"))
    check(listed == sorted(rows[member]["id"] for member in booked), f"the door lists {listed}")
    check("wachtlijst" not in d.text("main").lower(), "the door page still names a waiting list")
    marks = [(booked[0], "attended"), (booked[1], "attended"), (booked[2], "no_show"), (booked[3], "attended")]
    for index, (member, status) in enumerate(marks, 1):
        rid = rows[member]["id"]
        check(door_row(d, rid)["status"] == "aangemeld", f"{member} at the door before marking: {door_row(d, rid)}")
        d.submit(door_button(d, rid, status), f"deur-{index}-{'aanwezig' if status == 'attended' else 'niet-verschenen'}")
        check(d.path() == door and d.fragment() == rid, f"marking {member} led to {d.driver.current_url}, expected {door}#{rid}")
        row = door_row(d, rid)
        if status == "attended":
            check(row["classes"] == {"door-row", "is-attended"} and row["status"] == "aanwezig" and row["buttons"] == ["no_show"],
                  f"{member} after 'Aanwezig': {row}")
        else:
            check(row["classes"] == {"door-row", "is-noshow"} and row["status"] == "niet verschenen" and row["buttons"] == ["attended"],
                  f"{member} after 'Niet verschenen': {row}")
    states = sorted(door_row(d, rows[member]["id"])["status"] for member in booked)
    check(states == ["aanwezig", "aanwezig", "aanwezig", "niet verschenen"], f"the door shows {states}")

    # The activity page agrees, and so does the database.
    d.click_link(d.find(f"main a[href='{href}']"), "activiteit-na-deur")
    statuses = {row["member"]: row["status"] for row in registration_rows(d)}
    check(statuses == {booked[0]: "aanwezig", booked[1]: "aanwezig", booked[2]: "niet verschenen", booked[3]: "aanwezig"},
          f"after the door the activity page shows {statuses}")
    check(not d.finds("main form[data-confirm]"), "the activity page still offers Afmelden after the door")
    run.log(f"places after the door: {d.text('.record-header strong')!r}")
    schema = run.schema(run.library_a)
    counts = dict(run.owner_sql(f"SELECT status, count(*) FROM {schema}.registrations "
                                f"WHERE activity_id = '{activity_id}' GROUP BY status"))
    check(counts == {"attended": "3", "no_show": "1", "cancelled": "1"}, f"the database holds {counts} for the activity")


def pick_members(run, activity_id, count):
    """Member numbers of adult members of library A, not merged or erased, not registered for the activity."""
    schema = run.schema(run.library_a)
    check(re.fullmatch(r"[0-9a-f-]{36}", activity_id), f"not an activity id: {activity_id!r}")
    rows = run.owner_sql(f"""
        SELECT member_number FROM {schema}.customers c
        WHERE member_number IS NOT NULL AND merged_into IS NULL AND erased_at IS NULL AND 'member' = ANY (roles)
          AND birth_date <= current_date - interval '18 years' AND member_number ~ '^[0-9A-Za-z-]+$'
          AND NOT EXISTS (SELECT 1 FROM {schema}.registrations r WHERE r.activity_id = '{activity_id}' AND r.customer_id = c.id)
        ORDER BY random() LIMIT {int(count)}""")
    members = [row[0] for row in rows]
    check(len(members) == count, f"found {len(members)} adult members with a member number in {schema}, need {count}")
    return members


def week_entry(browser, href):
    """(the day's heading, the row's cells, the link) of an activity on the week page."""
    for section in browser.finds("section.day"):
        for row in section.find_elements(By.CSS_SELECTOR, "table.list tbody tr"):
            links = row.find_elements(By.CSS_SELECTOR, f"a[href='{href}']")
            if links:
                return (section.find_element(By.TAG_NAME, "h3").text.strip(),
                        [cell.text.strip() for cell in row.find_elements(By.TAG_NAME, "td")], links[0])
    raise Failure(f"the week page {browser.driver.current_url} does not list {href}: {browser.text('main')[:600]!r}")


def registration_rows(browser):
    """The rows of an activity's registrations table: id (r-…), name, member number, status."""
    rows = []
    for row in browser.finds("main table.list tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        rows.append({"id": row.get_attribute("id"), "name": cells[0].text.strip(), "member": cells[1].text.strip(),
                     "status": cells[2].text.strip()})
    return rows


def registration_row(browser, member):
    return next((row for row in registration_rows(browser) if row["member"] == member), None)


def door_row(browser, rid):
    """A person at the door: classes, status text and the statuses its buttons would set."""
    row = browser.find(f"li.door-row#{rid}")
    return {"classes": set((row.get_attribute("class") or "").split()),
            "status": row.find_element(By.CSS_SELECTOR, ".door-status").text.strip(),
            "buttons": [form.find_element(By.CSS_SELECTOR, "input[name=status]").get_attribute("value")
                        for form in row.find_elements(By.TAG_NAME, "form")]}


def door_button(browser, rid, status):
    """The button of a door row that sets `status` (attended: 'Aanwezig', no_show: 'Niet verschenen')."""
    label = {"attended": "Aanwezig", "no_show": "Niet verschenen"}[status]
    for form in browser.find(f"li.door-row#{rid}").find_elements(By.TAG_NAME, "form"):
        if form.find_element(By.CSS_SELECTOR, "input[name=status]").get_attribute("value") == status:
            button = form.find_element(By.TAG_NAME, "button")
            check(button.text.strip().startswith(label), f"the door button for {status} reads {button.text!r}")
            return button
    raise Failure(f"door row {rid} has no button for {status}")


def test_3_first_import(run):
    """A tenant admin of a new library uploads a member export whose branches the library does not have, sees the dry
    run with its bad rows and the unknown branches, creates the branches, confirms, and watches progress reach 100%;
    the bad rows download as CSV.

    The library is new for this run (run.sh creates it with `kring tenant create`), so it has no branches and no
    customers. The export is generated here: IMPORT_ROWS members in the default mapping's Dutch columns, `;`-separated,
    a few hundred naming one of three branches the library lacks, and eight bad rows (two each of a bad e-mail address,
    a bad postcode, no member number, a birth date in the future) that name no branch, so that they are refused for
    their own fault in every run."""
    slug, email = run.new_library, run.new_admin
    check(slug and email, "no new library: set KRING_BROWSER_NEW_LIBRARY and KRING_BROWSER_NEW_ADMIN (Admin/tests/run.sh does)")
    schema = run.schema(slug)
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    with tempfile.NamedTemporaryFile(prefix=f"kring-browsertest-{run.tag}-", suffix="-leden.csv", delete=False) as file:
        export = member_export(Path(file.name), today)
    run.log(f"library {slug}; export {export['path']}: {export['rows']} rows, {export['good']} good "
            f"({export['with_branch']} naming {', '.join(IMPORT_BRANCHES)}), {len(export['bad'])} bad")
    a = run.browser("beheerder")
    try:
        a.sign_in(email, run.password, slug, "inloggen")
        check(a.path() == "/", f"the new library's admin signing in led to {a.driver.current_url}")

        # Beheer from the left navigation; its tabs.
        beheer = [link for link in a.finds("nav.sidenav a") if link.text.strip() == "Beheer"]
        check(len(beheer) == 1, f"the left navigation of a tenant admin has no 'Beheer': {a.text('nav.sidenav')!r}")
        a.click_link(beheer[0], "beheer")
        check(a.path() == "/beheer/medewerkers", f"'Beheer' led to {a.driver.current_url}")
        tabs = [link.text.strip() for link in a.finds("nav.tabs a")]
        check(tabs == ["Medewerkers", "Importeren", "API-sleutels", "Vestigingen", "Instellingen"], f"the Beheer tabs are {tabs}")
        a.click_link(admin_tab(a, "Vestigingen"), "vestigingen-leeg")
        check(a.path() == "/beheer/vestigingen", f"the Vestigingen tab led to {a.driver.current_url}")
        check(not a.finds("main table.list"), "the new library lists branches already")
        check("Nog geen vestigingen." in a.text("main"), "the empty Vestigingen tab does not say so")

        # The upload form.
        a.click_link(admin_tab(a, "Importeren"), "importeren")
        check(a.path() == "/beheer/import", f"the Importeren tab led to {a.driver.current_url}")
        form = a.find("main form[action='/beheer/import']")
        check(form.get_attribute("enctype") == "multipart/form-data", f"the import form is sent as {form.get_attribute('enctype')!r}")
        check(a.find("input[name=kind][value=members]").is_selected(), "the import form does not start on the member export")
        check(a.find("#file").get_attribute("type") == "file" and a.find("#mapping").get_attribute("type") == "file",
              "the import form lacks its file fields #file and #mapping")
        check(not a.find("input[name=mark_missing_ended]").is_selected(), "'Leden die niet in het bestand staan' starts ticked")
        a.find("#file").send_keys(str(export["path"]))
        a.submit(a.button("Proefimport starten"), "proefimport-gestart")
        first, _ = follow_import(run, a, "proefimport")

        # The first dry run: the rows naming a branch are refused for it, the bad rows for their fault.
        check(a.text("main h2") == "Proefimport: wat er zou gebeuren", f"the dry run is headed {a.text('main h2')!r}")
        refused = {line: ("Vestiging", f"Vestiging ‘{name}’ bestaat niet in Kring.") for line, name in export["branch_lines"].items()}
        refused.update({line: (column, None) for line, column, _ in export["bad"]})
        expect_counts(a, {"Rijen in het bestand": export["rows"], "Zou nieuw toevoegen": export["good"] - export["with_branch"],
                          "Zou bijwerken": 0, "Ongewijzigd": 0, "Rijen met fouten": len(refused)}, "the first dry run")
        card = unknown_branch_card(a)
        check(card is not None, f"the dry run does not show 'Vestigingen die Kring nog niet kent': {a.text('main')[:800]!r}")
        named = [li.text.strip() for li in card.find_elements(By.CSS_SELECTOR, "ul li")]
        in_file = list(dict.fromkeys(export["branch_lines"][line] for line in sorted(export["branch_lines"])))
        check(named == in_file, f"the dry run names the unknown branches {named}, expected {in_file} (in the order of the file)")
        count_text = f"{len(export['branch_lines']):,}".replace(",", ".") + " rijen met deze vestigingen"
        check(count_text in card.text, f"the unknown-branch card does not say {count_text!r}: {card.text!r}")
        # The table lists the other faults; the rows refused only for their branch are counted in the card, and the
        # download holds them all.
        expect_bad_rows(run, a, {line: (column, None) for line, column, _ in export["bad"]}, "the first dry run")
        expect_bad_rows_csv(run, a, first, refused, "the first dry run")
        check(run.owner_sql(f"SELECT count(*) FROM {schema}.customers") == [["0"]], "the first dry run wrote customers")

        # The branches, then the dry run again: now only the bad rows are refused.
        municipality = "Duinstad"
        field = card.find_element(By.ID, "municipality")
        check(field.get_attribute("required") is not None, "the branches' municipality is not a required field")
        a.type("#municipality", municipality)
        a.submit(a.button("Vestigingen aanmaken en opnieuw proberen", "section.card"), "tweede-proefimport-gestart")
        second, _ = follow_import(run, a, "tweede-proefimport")
        check(second != first, "creating the branches did not start a new dry run")
        check(a.text("main h2") == "Proefimport: wat er zou gebeuren", f"the second dry run is headed {a.text('main h2')!r}")
        check(unknown_branch_card(a) is None, "the dry run after creating the branches still lists unknown branches")
        bad = {line: (column, None) for line, column, _ in export["bad"]}
        expect_counts(a, {"Rijen in het bestand": export["rows"], "Zou nieuw toevoegen": export["good"],
                          "Zou bijwerken": 0, "Ongewijzigd": 0, "Rijen met fouten": len(bad)}, "the dry run after creating the branches")
        expect_bad_rows(run, a, bad, "the second dry run")
        expect_bad_rows_csv(run, a, second, bad, "the second dry run")
        check(run.owner_sql(f"SELECT count(*) FROM {schema}.customers") == [["0"]], "the second dry run wrote customers")
        stale = a.http("GET", f"/beheer/import/{first}")[1]
        if "Import uitvoeren" in stale or "Vestigingen aanmaken en opnieuw proberen" in stale:
            run.note(f"the first dry run's page (/beheer/import/{first}) still offers 'Import uitvoeren' and "
                     "'Vestigingen aanmaken en opnieuw proberen', though its file went to the second dry run: both answer "
                     "'Het bestand van deze proefimport is niet meer bewaard'")

        # The real import: the progress bar runs until the page turns into the report.
        a.submit(a.button("Import uitvoeren", "form.confirm-import"), "import-gestart")
        real, seen = follow_import(run, a, "import")
        check(real not in (first, second), "'Import uitvoeren' did not start a new import")
        check(seen, "the real import's page never showed its progress bar (#import-progress) before the report")
        run.log(f"progress seen: {' -> '.join(f'{value}% {text!r}' for value, text in seen)}")
        check(a.text("main h2") == "Import", f"the real import is headed {a.text('main h2')!r}")
        expect_counts(a, {"Rijen in het bestand": export["rows"], "Nieuw toegevoegd": export["good"], "Bijgewerkt": 0,
                          "Ongewijzigd": 0, "Rijen met fouten": len(bad)}, "the real import")
        done = a.find("main .progress-block progress")
        check(done.get_attribute("value") == "100", f"the report's progress bar stands at {done.get_attribute('value')}")
        total = dutch_number(export["rows"])
        check(a.text("main .progress-block [role=status]") == f"{total} van {total} rijen, klaar.",
              f"the report's progress says {a.text('main .progress-block [role=status]')!r}")
        status, body = a.http("GET", f"/beheer/import/{real}/voortgang")
        check(status == 200, f"/beheer/import/{real}/voortgang answers {status}")
        state = json.loads(body)
        check(state.get("percent") == 100 and state.get("finished") is True and state.get("text") == f"{total} van {total} rijen",
              f"the finished import's progress is {state}")
        check(not a.finds("form.confirm-import") and unknown_branch_card(a) is None,
              "the real import's report still offers to confirm or to create branches")
        expect_bad_rows_csv(run, a, real, bad, "the real import")
        check(any(b.text.strip() == "Nieuwe import" for b in a.finds("main a.button")), "the report offers no 'Nieuwe import'")
        for dry, rows, seconds in run.owner_sql(f"SELECT dry_run, rows_total, round(extract(epoch FROM finished_at - started_at)::numeric, 2) "
                                                f"FROM {schema}.imports ORDER BY created_at"):
            run.log(f"{'dry run' if dry == 't' else 'import'} of {rows} rows took {seconds} s in the worker")

        # In the database: the good rows, with their branches; none of the bad ones.
        count = run.owner_sql(f"SELECT count(*) FROM {schema}.customers WHERE 'member' = ANY (roles)")
        check(count == [[str(export["good"])]], f"the library holds {count} members after the import, expected {export['good']}")
        sample = export["sample"]
        found = run.owner_sql(f"""
            SELECT c.first_name, coalesce(c.infix, ''), c.last_name, c.birth_date::text, c.email, c.postcode, c.member_type,
                   c.membership_status, b.name
            FROM {schema}.customers c LEFT JOIN {schema}.branches b ON b.id = c.favourite_branch_id
            WHERE c.member_number = '{sample["member"]}'""")
        expected = [sample["first"], sample["infix"], sample["last"], sample["born"].isoformat(), sample["email"],
                    sample["postcode"], sample["type"], "active", sample["branch"]]
        check(found == [expected], f"member {sample['member']} is in the database as {found}, expected {[expected]}")
        per_branch = dict(run.owner_sql(f"SELECT b.name, count(*) FROM {schema}.customers c "
                                        f"JOIN {schema}.branches b ON b.id = c.favourite_branch_id GROUP BY b.name"))
        check(per_branch == {name: str(n) for name, n in export["per_branch"].items()},
              f"members per branch in the database: {per_branch}, expected {export['per_branch']}")
        refused_numbers = [number for _, _, number in export["bad"] if number]
        leaked = run.owner_sql(f"SELECT member_number FROM {schema}.customers WHERE member_number = ANY (ARRAY{refused_numbers}::text[])")
        check(not leaked, f"bad rows were imported: {leaked}")

        # The Vestigingen tab lists the branches the dry run created.
        a.click_link(admin_tab(a, "Vestigingen"), "vestigingen-na-import")
        listed = [[cell.text.strip() for cell in row.find_elements(By.TAG_NAME, "td")[:2]]
                  for row in a.finds("main table.list tbody tr")]
        check(sorted(listed) == sorted([name, municipality] for name in IMPORT_BRANCHES),
              f"the Vestigingen tab lists {listed}, expected {IMPORT_BRANCHES} in {municipality}")
    finally:
        export["path"].unlink(missing_ok=True)


# 1,500 rows: the worker needs about half a second for them (a debug build), so the page after "Import uitvoeren"
# shows the progress bar before the report even when the worker picks the job up at once, and the first batch of
# 500 rows reports progress on its way; 300 rows take a tenth of that.
IMPORT_ROWS = 1500
IMPORT_BRANCHES = ["Bibliotheek Duinwijk", "Bibliotheek Oosterpark", "Bibliotheek De Kolk"]
FIRST_NAMES = ["Anna", "Daan", "Emma", "Sem", "Julia", "Lucas", "Zoë", "Finn", "Tess", "Milan", "Loïs", "Noah", "Lotte",
               "Jesse", "Fleur", "Bram", "Chloé", "Mehmet", "Fatima", "Sven"]
INFIXES = ["", "", "", "de", "van", "van der", "van den", "ter"]
LAST_NAMES = ["Jansen", "Visser", "Bakker", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Dekker", "Hendriks", "Brouwer",
              "Kok", "Yılmaz", "Çelik", "El Amrani", "Ouwehand"]
POSTCODE_LETTERS = ["AB", "CD", "EF", "GH", "JK", "LM", "NP", "RT", "VW", "XZ"]


def member_export(path, today):
    """Writes a member export in the default mapping's columns (`;`, UTF-8, CRLF) and answers what it holds: rows,
    good (rows that can be imported), with_branch (good rows naming one of IMPORT_BRANCHES), branch_lines (line -> the
    branch it names), per_branch, bad ([(line, column, member number or None)]), and a sample good row naming a branch."""
    rng = random.Random(path.name)
    header = ["Lenernummer", "Lenerscategorie", "Voornaam", "Tussenvoegsel", "Achternaam", "Geboortedatum", "E-mail",
              "Postcode", "Huisnummer", "Woonplaats", "Inschrijfdatum", "Vestiging"]
    faults = {3: "email", 4: "postcode", 61: "member", 62: "born", 402: "email", 733: "postcode", 1004: "member", 1398: "born"}
    columns = {"email": "E-mail", "postcode": "Postcode", "member": "Lenernummer", "born": "Geboortedatum"}
    lines = ["\r\n".join([";".join(header)])]
    bad, branch_lines, per_branch, sample = [], {}, {name: 0 for name in IMPORT_BRANCHES}, None
    for index in range(IMPORT_ROWS):
        line = index + 2  # the header is line 1
        number = f"2{rng.randint(1000, 9999)}{index:05d}"
        first, infix, last = rng.choice(FIRST_NAMES), rng.choice(INFIXES), rng.choice(LAST_NAMES)
        born = date(rng.randint(1940, 2016), rng.randint(1, 12), rng.randint(1, 28))
        kind = "jeugd" if born.year > today.year - 18 else "volwassene"
        local = re.sub(r"[^a-z]", "", f"{first}.{last}".lower().replace(".", "x"))
        email = f"{local}{index}@leden.example"
        postcode = f"{rng.randint(1000, 9999)} {rng.choice(POSTCODE_LETTERS)}"
        joined = date(rng.randint(2000, today.year - 1), rng.randint(1, 12), rng.randint(1, 28))
        branch = ""
        fault = faults.get(line)
        if fault == "email":
            email = f"{local}@@leden"
        elif fault == "postcode":
            postcode = "12345"
        elif fault == "member":
            number = ""
        elif fault == "born":
            born = today + timedelta(days=30)
            kind = "jeugd"
        elif index % 5 == 1:
            branch = IMPORT_BRANCHES[(index // 5) % len(IMPORT_BRANCHES)]
            branch_lines[line] = branch
            per_branch[branch] += 1
            if sample is None:
                sample = {"member": number, "first": first, "infix": infix, "last": last, "born": born, "email": email,
                          "postcode": postcode, "type": {"jeugd": "youth", "volwassene": "adult"}[kind], "branch": branch}
        if fault:
            bad.append((line, columns[fault], number or None))
        lines.append(";".join([number, kind, first, infix, last, born.strftime("%d-%m-%Y"), email, postcode,
                               str(rng.randint(1, 250)), "Duinstad", joined.strftime("%d-%m-%Y"), branch]))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return {"path": path.resolve(), "rows": IMPORT_ROWS, "good": IMPORT_ROWS - len(bad), "with_branch": len(branch_lines),
            "branch_lines": branch_lines, "per_branch": per_branch, "bad": bad, "sample": sample}


def admin_tab(browser, label):
    for link in browser.finds("nav.tabs a"):
        if link.text.strip() == label:
            return link
    raise Failure(f"no Beheer tab {label!r} on {browser.path()}")


def follow_import(run, browser, step):
    """On an import's page just loaded (and checked): while it is queued or running, watches the progress bar that
    kring.js updates until the script loads the report, then checks the report as a page of its own. Answers the
    import's id and the (value, text) pairs the bar showed."""
    found = re.fullmatch(r"/(?:beheer|relaties)/import/([0-9a-f-]{36})", browser.path())
    check(found, f"starting the import led to {browser.driver.current_url}: {browser.text('main')[:400]!r}")
    seen = []
    deadline = time.time() + 60
    while True:
        try:
            bars = browser.driver.find_elements(By.ID, "import-progress")
            if not bars:
                break
            value = int(float(bars[0].get_attribute("value") or 0))
            status = browser.driver.find_element(By.ID, "import-progress-text")
            text, role = status.text.strip(), status.get_attribute("role")
        except (StaleElementReferenceException, NoSuchElementException):
            continue  # kring.js is loading the report
        if not seen or seen[-1] != (value, text):
            if seen:
                check(value >= seen[-1][0], f"the progress bar went back from {seen[-1][0]}% to {value}%")
            check(re.fullmatch(r"In de wachtrij…|Bezig…|[0-9.]+ van [0-9.]+ rijen", text),
                  f"the progress text (#import-progress-text) reads {text!r}")
            check(role == "status", f"the progress text is not announced (role={role!r}, expected 'status')")
            seen.append((value, text))
        check(time.time() < deadline, f"the import {found.group(1)} did not finish within 60 s: {seen[-1:]}")
        time.sleep(0.2)
    if seen:
        browser.page(f"{step}-rapport")
    failure = browser.finds("main .error-summary")
    check(not failure, f"the import {found.group(1)} failed: {failure[0].text if failure else ''!r}")
    check(browser.finds("main dl.counts"), f"the import's page shows no counts: {browser.text('main')[:400]!r}")
    return found.group(1), seen


def dutch_number(number):
    """12.400, as the pages write it."""
    return f"{number:,}".replace(",", ".")


def expect_counts(browser, expected, what):
    counts = {div.find_element(By.TAG_NAME, "dt").text.strip(): div.find_element(By.TAG_NAME, "dd").text.strip()
              for div in browser.finds("main dl.counts > div")}
    wanted = {label: dutch_number(number) for label, number in expected.items()}
    check(counts == wanted, f"{what} counts {counts}, expected {wanted}")


def unknown_branch_card(browser):
    for card in browser.finds("main section.card"):
        if card.find_element(By.TAG_NAME, "h3").text.strip() == "Vestigingen die Kring nog niet kent":
            return card
    return None


ENGLISH = re.compile(r"\b(Not|Cannot|needs|the|Use|Give|appears|Invalid|Lies)\b")


def expect_bad_rows(run, browser, expected, what):
    """The table of bad rows lists exactly `expected` (line -> (column, reason or None for any reason))."""
    rows = {}
    for row in browser.finds("main section.card table.list tbody tr"):
        line, column, reason = [cell.text.strip() for cell in row.find_elements(By.TAG_NAME, "td")]
        check(line not in rows, f"{what}: line {line} is listed twice among the bad rows")
        rows[line] = (column, reason)
    headers = [th.text.strip() for th in browser.finds("main section.card table.list thead th")]
    check(headers == ["Regel", "Kolom", "Wat klopt er niet"], f"{what}: the bad rows' table has the columns {headers}")
    check(sorted(int(line) for line in rows) == sorted(expected),
          f"{what}: the bad rows' table lists lines {sorted(rows)[:20]}…, expected {sorted(expected)[:20]}…")
    english = set()
    for line, (column, reason) in expected.items():
        shown_column, shown_reason = rows[str(line)]
        check(shown_column == column, f"{what}: line {line} is refused for column {shown_column!r}, expected {column!r}")
        check(shown_reason and (reason is None or shown_reason == reason),
              f"{what}: line {line} is refused because {shown_reason!r}, expected {reason!r}")
        if ENGLISH.search(shown_reason):
            english.add(shown_reason)
    if english:
        run.note(f"{what}: the bad rows' reasons are in English, not Dutch: {sorted(english)}")


def expect_bad_rows_csv(run, browser, import_id, expected, what, area="beheer"):
    """The bad rows as CSV, fetched with the browser's session: `;`, header regel;kolom;reden, UTF-8 with a BOM, one
    line per bad row with its line and column."""
    path = f"/{area}/import/{import_id}/fouten.csv"
    links = [link for link in browser.finds("main a") if link.text.strip() == "Foute rijen downloaden (CSV)"]
    check(len(links) == 1 and urllib.parse.urlsplit(links[0].get_attribute("href")).path == path,
          f"{what}: no link 'Foute rijen downloaden (CSV)' to {path}")
    status, headers, body = browser.download(path)
    check(status == 200, f"{what}: {path} answers {status}")
    check(headers.get("content-type", "").startswith("text/csv"), f"{what}: {path} is {headers.get('content-type')!r}")
    check(headers.get("content-disposition", "").startswith("attachment"),
          f"{what}: {path} is not sent as a download ({headers.get('content-disposition')!r})")
    check(body.startswith(b"\xef\xbb\xbf"), f"{what}: {path} does not start with a UTF-8 BOM (a spreadsheet would guess the encoding)")
    text = body[3:].decode("utf-8")
    lines = text.splitlines()
    check(lines and lines[0] == "regel;kolom;reden", f"{what}: {path} starts {lines[:1]}")
    rows = list(csv.reader(lines[1:], delimiter=";"))
    check(len(rows) == len(expected), f"{what}: {path} has {len(rows)} rows, expected {len(expected)}")
    got = {int(row[0]): row[1] for row in rows}
    check(got == {line: column for line, (column, _) in expected.items()},
          f"{what}: {path} names other lines or columns than the page: {sorted(got.items())[:10]}…")
    check(all(row[2] for row in rows), f"{what}: {path} has rows without a reason")


def test_4_isolation(run):
    """Another library's customer answers 404, and a form without its form token is refused with 403."""
    a = run.browser("a2")
    a.sign_in(run.user("a2"), run.password, run.library_a, "bieb-a-inloggen")
    check(a.path() == "/", f"library A's sign-in led to {a.driver.current_url}")
    a.open("/klanten?q=a", "bieb-a-zoeken")
    links = a.finds("table.list tbody tr td:first-child a")
    check(links, "searching 'a' in library A found nobody")
    foreign = urllib.parse.urlsplit(links[0].get_attribute("href")).path
    status, _ = a.http("GET", foreign)
    check(status == 200, f"library A's own customer {foreign} answers {status} to library A")

    b = run.browser("b")
    b.sign_in(run.user("b"), run.password, run.library_b, "bieb-b-inloggen")
    check(b.path() == "/", f"library B's sign-in led to {b.driver.current_url}")
    b.open(foreign, "bieb-b-klant-van-a", status=404)
    check(b.text("h1") == "Deze pagina bestaat niet", f"library A's customer shows library B: {b.text('main')[:300]!r}")
    signed_in_chrome(b, "the 404 page")
    for suffix in ["", "/bewerken", "/contactmoment", "/toestemming"]:
        status, body = b.http("GET", foreign + suffix)
        check(status == 404, f"GET {foreign}{suffix} with library B's session answers {status}, expected 404")
        check("Deze pagina bestaat niet" in body, f"GET {foreign}{suffix}: not the 404 page")
    status, body = b.http("GET", "/")
    check(status == 200 and "Amstelland" in body, f"library B's session cookie does not work over HTTP ({status})")

    # A form posted without its form token is refused, and nothing is recorded.
    b.open("/klanten?q=a", "bieb-b-zoeken")
    own = b.finds("table.list tbody tr td:first-child a")
    check(own, "searching 'a' in library B found nobody")
    customer = urllib.parse.urlsplit(own[0].get_attribute("href")).path
    subject = f"Zonder formuliertoken (browsertest {run.tag})"
    b.open(customer + "/contactmoment", "bieb-b-contactmoment")
    b.type("#subject", subject)
    # The form's own token: the first _csrf on the page is the sign-out form's in the top bar.
    b.driver.execute_script("document.querySelector('form[action$=\"/contactmoment\"] input[name=_csrf]').remove()")
    b.submit(b.find("form[action$='/contactmoment'] button.primary"), "zonder-csrf", status=403)
    check(b.text("h1") == "Dit formulier is verlopen", f"a form without _csrf was not refused: {b.text('main')[:300]!r}")
    signed_in_chrome(b, "the 403 page")
    status, _ = b.http("POST", customer + "/contactmoment", {"channel": "phone", "direction": "inbound", "subject": subject})
    check(status == 403, f"POST without _csrf answers {status}, expected 403")
    b.open(customer, "bieb-b-klant-ongewijzigd")
    check(subject not in b.text("main"), "the contact moment posted without _csrf was recorded anyway")

def test_5_relations(run):
    """A relations manager's Mijn taken: overdue first, then this week, then later; the reminder the daily job gave
    shows as a badge in the navigation; done in one click takes the task and the badge away. Then Relaties: the
    organisations as a tree, an account view, and a visit recorded there with its people and a follow-up task; a
    reading coordinator who moves to another school keeps both roles, and both schools' account views are right."""
    email = run.user("r")
    schema = run.schema(run.library_a)
    rows = run.owner_sql(f"SELECT id FROM platform.users WHERE email = '{email}'")
    check(rows, f"no user {email} in the database")
    me = rows[0][0]
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    tag = run.tag
    tasks = [("laat", f"Verslag schoolbezoek {tag}", today - timedelta(days=3), True),
             ("week", f"Terugbellen directeur {tag}", today, False),
             ("later", f"Offerte leskisten {tag}", today + timedelta(days=20), False)]
    for _, title, due, reminded in tasks:
        # The reminder of an overdue task is what the daily job writes (overdue_marked_at).
        run.owner_sql(f"""INSERT INTO {schema}.tasks (id, kind, title, due_on, assignee_user_id, status, overdue_marked_at,
                              created_at, updated_at)
                          VALUES (gen_random_uuid(), 'task', '{title}', '{due.isoformat()}', '{me}', 'open',
                                  {"now()" if reminded else "NULL"}, now(), now())""")
    r = run.browser("r")
    r.sign_in(email, run.password, run.library_a, "relaties-inloggen")
    link = r.find("nav.sidenav a[href='/taken']")
    badge = r.finds("nav.sidenav a[href='/taken'] .nav-count [aria-hidden='true']")
    check(link.text.startswith("Taken") and badge and badge[0].text == "1",
          f"the navigation shows {link.text!r}, expected 'Taken' with a badge 1")
    check(r.find("nav.sidenav a[href='/taken'] .nav-count .visually-hidden").get_attribute("textContent") == "(1 herinnering)",
          "the badge has no words for a screen reader")
    r.click_link(link, "mijn-taken")
    check(r.text("h1") == "Mijn taken", f"the tasks page is headed {r.text('h1')!r}")
    main = r.text("main")
    order = ["Te laat", tasks[0][1], "3 dagen te laat", "Deze week", tasks[1][1], "vandaag", "Later", tasks[2][1]]
    positions = [main.find(text) for text in order]
    check(all(p >= 0 for p in positions) and positions == sorted(positions),
          f"Mijn taken is not overdue first, then this week, then later: {list(zip(order, positions))}")
    late_id = run.owner_sql(f"SELECT id FROM {schema}.tasks WHERE title = '{tasks[0][1]}'")[0][0]
    done = r.find(f"form[action='/taken/{late_id}/klaar'] button")
    check(done.text.strip().startswith("Klaar"), f"the overdue task's button says {done.text!r}")
    r.submit(done, "taak-klaar")
    check(r.path() == "/taken" and "De taak is afgerond." in r.text("main"), f"done led to {r.driver.current_url}")
    check(tasks[0][1] not in r.text("main"), "the finished task is still listed")
    check(not r.finds("nav.sidenav a[href='/taken'] .nav-count"), "the badge stayed after the reminded task was done")
    status = run.owner_sql(f"SELECT status FROM {schema}.tasks WHERE title = '{tasks[0][1]}'")
    check(status == [["done"]], f"the finished task is {status} in the database")

    # Relaties: the organisations as a tree (what lies under another organisation in a list inside its item), and
    # the account view of one that has something under it.
    r.click_link(r.find("nav.sidenav a[href='/relaties']"), "relaties")
    check(r.text("h1") == "Relaties", f"the relations page is headed {r.text('h1')!r}")
    nested = r.finds("ul.tree > li > ul > li > a")
    check(nested, "the demo library's relations show no organisation under another")
    school_a = nested[0].get_attribute("href").rsplit("/", 1)[1]
    parent = nested[0].find_element(By.XPATH, "../../../a")
    parent_name = parent.text
    r.click_link(parent, "relatie-bovenliggend")
    check(r.text("h1") == parent_name, f"the account view is headed {r.text('h1')!r}, expected {parent_name!r}")
    for heading in ["Gegevens", "Besluitvorming", "Open taken", "Laatste contacten", "Bestellingen dit jaar", "Overeenkomsten"]:
        check(heading in [h.text for h in r.finds("main h2")], f"the account view has no section {heading!r}")

    # A school visit with two of its people and a follow-up task, in one form; the task lands in Mijn taken.
    r.click_link(r.find("main a[href$='/contact']"), "contact-formulier")
    check(r.text("h1") == "Contact vastleggen", f"the contact form is headed {r.text('h1')!r}")
    subject, follow_up = f"Schoolbezoek {tag}", f"Boekenkist brengen {tag}"
    r.type("#subject", subject)
    r.type("#report", "Leesplan besproken met directie en leescoördinator.")
    people = r.finds("input[name=contact]")
    for box in people[:2]:
        box.click()
    r.type("#task_title", follow_up)
    r.submit(r.find("form[action$='/contact'] button.primary"), "contact-vastgelegd")
    check("Het contact is vastgelegd, met een vervolgtaak voor u." in r.text("main"), f"recording the visit led to {r.driver.current_url}")
    check(subject in r.text("main") and follow_up in r.text("main"), "the account view does not show the visit and its task")
    r.open("/taken", "taken-met-vervolgtaak")
    check(follow_up in r.text("main"), "the follow-up task is not in Mijn taken")
    present = run.owner_sql(f"""SELECT count(*) FROM {schema}.interaction_contacts ic JOIN {schema}.interactions i ON i.id = ic.interaction_id
                                WHERE i.subject = '{subject}'""")
    check(present == [[str(min(2, len(people)))]], f"the visit has {present} contacts in the database, expected {min(2, len(people))}")

    # A reading coordinator moves to another school: her page keeps both roles with their dates, and each school's
    # account view shows who decides there today. She is made for this run, so the demo's people stay as they are.
    r.open("/relaties", "relaties-terug")
    others = [a for a in r.finds("ul.tree > li > ul > li > a") if a.get_attribute("href").rsplit("/", 1)[1] != school_a]
    check(others, "the demo library has only one organisation")
    school_b, school_b_name = others[0].get_attribute("href").rsplit("/", 1)[1], others[0].text
    coordinator = f"Coördinator{tag}"
    person = run.owner_sql(f"""INSERT INTO {schema}.contacts (id, version, first_name, last_name, email, created_at, updated_at)
                               VALUES (gen_random_uuid(), 1, 'Fenna', '{coordinator}', 'fenna.{tag}@school.example', now(), now())
                               RETURNING id""")[0][0]
    run.owner_sql(f"""INSERT INTO {schema}.contact_roles (id, contact_id, organisation_id, dmu_role, job_title, active_from, created_at, updated_at)
                      VALUES (gen_random_uuid(), '{person}', '{school_a}', 'advisor', 'Leescoördinator', '{(today - timedelta(days=400)).isoformat()}',
                              now(), now())""")
    full_name = f"Fenna {coordinator}"
    r.open(f"/relaties/{school_a}", "school-voor-verhuizing")
    check(full_name in r.text("main"), f"{full_name} is not in the school's decision-making unit")
    r.click_link(r.find(f"main a[href='/relaties/personen/{person}']"), "contactpersoon")
    check(r.text("h1") == full_name, f"the person's page is headed {r.text('h1')!r}")
    r.click_link(r.find("main a[href$='/verhuizen']"), "verhuizen-formulier")
    Select(r.find("#organisation")).select_by_value(school_b)
    Select(r.find("#dmu_role")).select_by_value("decision_maker")
    r.submit(r.find("form[action$='/verhuizen'] button.primary"), "verhuisd")
    main = r.text("main")
    check("De nieuwe rol is vastgelegd; de oude is beëindigd." in main, f"the move led to {r.driver.current_url}: {main[:300]!r}")
    rows = [row.text for row in r.finds("main table.list tbody tr")]
    check(len(rows) == 2 and school_b_name in rows[0] and "sinds" in rows[0] and "beëindigd" in rows[1] and "tot en met" in rows[1],
          f"the person's roles are {rows!r}")
    r.open(f"/relaties/{school_a}", "oude-school")
    check(full_name not in r.text("main"), f"{full_name} is still in the old school's decision-making unit")
    r.open(f"/relaties/{school_b}", "nieuwe-school")
    deciders = r.driver.find_elements(By.XPATH, "//h3[.='Beslissers']/following-sibling::ul[1]")
    check(deciders and full_name in deciders[0].text, f"{full_name} is not among the new school's decision makers")

    # An order with a Dutch amount, and an agreement whose renewal date gives the account owner a task 30 days before.
    r.click_link(r.find(f"main a[href='/relaties/{school_b}/bestellingen/nieuw']"), "bestelling-formulier")
    check(r.text("h1") == "Nieuwe bestelling", f"the order form is headed {r.text('h1')!r}")
    product = f"Voorleesprogramma {tag}"
    r.type("#title", product)
    r.type("#quantity", "3")
    r.type("#amount", "1.250,50")
    r.submit(r.find("main form button.primary"), "bestelling-opgeslagen")
    main = r.text("main")
    check("De bestelling is opgeslagen." in main and product in main and "€ 1.250,50" in main,
          f"saving the order led to {r.driver.current_url}: {main[:300]!r}")
    r.click_link(r.find(f"main a[href='/relaties/{school_b}/overeenkomsten/nieuw']"), "overeenkomst-formulier")
    title, renewal = f"Leesplan {tag}", today + timedelta(days=120)
    r.type("#title", title)
    r.set_value("#renewal", renewal.isoformat())
    r.submit(r.find("main form button.primary"), "overeenkomst-opgeslagen")
    main = r.text("main")
    check("De taak om de verlenging voor te bereiden staat bij de open taken." in main, f"saving the agreement led to {main[:300]!r}")
    task = f"Verlenging voorbereiden: {title}"
    check(task in main, f"the account view's open tasks do not show {task!r}")
    due = run.owner_sql(f"SELECT due_on FROM {schema}.tasks WHERE title = '{task}' AND status = 'open'")
    check(due == [[(renewal - timedelta(days=30)).isoformat()]], f"the renewal task is due {due}, expected 30 days before {renewal}")

    # A list of organisations from Excel: the dry run shows the row that names an unknown school board, in Dutch; the
    # confirmed import adds the others.
    r.click_link(r.find("nav.sidenav a[href='/relaties']"), "relaties-voor-import")
    r.click_link(r.find("main nav.tabs a[href='/relaties/import']"), "relaties-importeren")
    check(r.find("main form[action='/relaties/import']").get_attribute("enctype") == "multipart/form-data", "the relations import form sends no file")
    lines = ["Naam;Soort;Postcode;Plaats;Schoolbestuur", f"Stichting Duinwijk {tag};overig;2051 AA;Overveen;",
             f"OBS De Helm {tag};basisschool;2051 AB;Overveen;Stichting Duinwijk {tag}",
             f"IKC Zandvoort {tag};basisschool;2042 AC;Zandvoort;Stichting Nergens {tag}"]
    with tempfile.NamedTemporaryFile("w", prefix=f"kring-browsertest-{tag}-", suffix="-organisaties.csv", delete=False, encoding="utf-8") as file:
        file.write("\r\n".join(lines) + "\r\n")
    r.find("input[name=kind][value=organisations]").click()
    r.find("#file").send_keys(file.name)
    r.submit(r.button("Proefimport starten"), "relaties-proefimport-gestart")
    dry, _ = follow_import(run, r, "relaties-proefimport")
    expect_counts(r, {"Rijen in het bestand": 3, "Zou nieuw toevoegen": 2, "Zou bijwerken": 0, "Ongewijzigd": 0, "Rijen met fouten": 1},
                  "the organisations' dry run")
    bad = {4: ("Schoolbestuur", f"Organisatie ‘Stichting Nergens {tag}’ staat niet in Kring; importeer eerst de organisaties.")}
    expect_bad_rows(run, r, bad, "the organisations' dry run")
    expect_bad_rows_csv(run, r, dry, bad, "the organisations' dry run", area="relaties")
    r.submit(r.button("Import uitvoeren", "form.confirm-import"), "relaties-import-gestart")
    follow_import(run, r, "relaties-import")
    expect_counts(r, {"Rijen in het bestand": 3, "Nieuw toegevoegd": 2, "Bijgewerkt": 0, "Ongewijzigd": 0, "Rijen met fouten": 1},
                  "the organisations' import")
    under = run.owner_sql(f"""SELECT p.name FROM {schema}.organisations o JOIN {schema}.organisations p ON p.id = o.parent_id
                              WHERE o.name = 'OBS De Helm {tag}'""")
    check(under == [[f"Stichting Duinwijk {tag}"]], f"the imported school lies under {under}")
    os.unlink(file.name)


def dutch_count(count):
    """What the builder shows for a count: "1 klant", "2.540 klanten"."""
    return "1 klant" if count == 1 else f"{count:,}".replace(",", ".") + " klanten"


def api_preview(run, email, rule):
    """The count POST /api/v1/segments/preview gives for a rule, signed in to the API as `email`."""
    def post(path, body, token=None):
        request = urllib.request.Request(run.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    if not hasattr(run, "api_tokens"):
        run.api_tokens = {}
    if email not in run.api_tokens:
        run.api_tokens[email] = post("/api/v1/auth/login", {"email": email, "password": run.password, "tenant": run.library_a})["access_token"]
    return post("/api/v1/segments/preview", {"rule": rule}, run.api_tokens[email])["count"]


def test_6_segments(run):
    """A marketer builds "adults in two branches, active, no loan in 12 months, newsletter consent" in the segment
    builder: after each step the count on the page follows, and equals POST /api/v1/segments/preview for the same
    rule; the first 20 are listed; the segment is saved. A campaign to the Weekbrief list narrowed to it goes out
    through the SMTP server, its progress runs to the end, and its report counts one open and one click made on the
    tracking routes. An analyst opens the segment (the count, no sample, no Opslaan) and the report (no buttons)."""
    email = run.user("m")
    m = run.browser("m")
    m.sign_in(email, run.password, run.library_a, "marketing-inloggen")
    m.click_link(m.find("nav.sidenav a[href='/campagnes']"), "campagnes")
    m.click_link(m.find("main a[href='/campagnes/segmenten']"), "segmenten")
    m.click_link(m.find("main a[href='/campagnes/segmenten/nieuw']"), "nieuw-segment")
    check(m.finds("[data-builder] .group") and not m.find("#rule").is_displayed(),
          "the builder did not replace the JSON field")
    counts = []

    def settled(step):
        """Waits until the page shows the API's count for the rule the builder holds now."""
        rule = json.loads(m.find("#rule").get_attribute("value"))
        expected = api_preview(run, email, rule)
        try:
            WebDriverWait(m.driver, WAIT).until(lambda d: m.text("[data-count]") == dutch_count(expected))
        except Exception:
            raise Failure(f"after {step} the page shows {m.text('[data-count]')!r}, the API counts {expected} for {json.dumps(rule)}")
        counts.append(expected)
        return rule

    def add(field, operator):
        m.button("+ Voorwaarde").click()
        condition = m.finds("li.condition")[-1]
        Select(condition.find_element(By.CSS_SELECTOR, "select[aria-label=Veld]")).select_by_value(field)
        condition = m.finds("li.condition")[-1]
        Select(condition.find_element(By.CSS_SELECTOR, "select[aria-label=Vergelijking]")).select_by_value(operator)
        return m.finds("li.condition")[-1]

    settled("the start (active members)")
    condition = add("member_type", "=")
    Select(condition.find_element(By.CSS_SELECTOR, ".value select")).select_by_value("adult")
    settled("adults")
    condition = add("favourite_branch", "in")
    # The two branches with the most customers, so the segment is not empty in the demo library.
    schema = run.schema(run.library_a)
    branches = [row[0] for row in run.owner_sql(f"""SELECT favourite_branch_id FROM {schema}.customers WHERE favourite_branch_id IS NOT NULL
                                                    GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2""")]
    check(len(branches) == 2, f"the demo library's customers have {len(branches)} favourite branches")
    for number, branch in enumerate(branches):
        condition.find_element(By.CSS_SELECTOR, f".checks input[type=checkbox][value='{branch}']").click()
        settled(["one branch", "two branches"][number])
    condition = add("loans_12m", "=")
    field = condition.find_element(By.CSS_SELECTOR, ".value input")
    field.send_keys("0")
    settled("no loan in 12 months")
    condition = add("consent", "=")
    topics = Select(condition.find_element(By.CSS_SELECTOR, ".value select"))
    topics.select_by_value("newsletter:weekly")
    rule = settled("newsletter consent")
    check(all(a != b for a, b in zip(counts, counts[1:])) and counts[0] > counts[-1] > 0,
          f"the count did not change at each step, or the segment is empty: {counts}")
    check(len(rule["all"]) == 5, f"the builder's rule has {len(rule['all'])} conditions: {rule}")
    sample = m.finds("[data-sample] ol.sample li a")
    check(len(sample) == min(20, counts[-1]), f"the sample lists {len(sample)} people for a count of {counts[-1]}")
    m.page("segment-gebouwd")
    name = f"Volwassenen zonder lening {run.tag}"
    m.type("#name", name)
    m.submit(m.find("button[value=save]"), "segment-opgeslagen")
    check("Het segment is opgeslagen." in m.text("main") and m.text("h1") == name, f"saving led to {m.driver.current_url}")
    path = m.path()
    check(re.fullmatch(r"/campagnes/segmenten/[0-9a-f-]{36}", path), f"the saved segment is at {path}")
    WebDriverWait(m.driver, WAIT).until(lambda d: m.text("[data-count]") == dutch_count(counts[-1]))

    # A campaign to the Weekbrief list, narrowed to this segment, sent through the SMTP server: the progress runs to
    # the end, and the report counts the one open and the one click made on the tracking routes.
    check(run.mail_dir, "no mail folder: set KRING_BROWSER_MAIL_DIR (Deploy/smoke.sh does)")
    # Tracking on, as the library's admin sets it in Beheer, Instellingen.
    run.owner_sql(f"""INSERT INTO {schema}.settings (key, value, updated_at) VALUES ('mail_tracking', 'true', now())
                      ON CONFLICT (key) DO UPDATE SET value = 'true', updated_at = now()""")
    segment_id = path.rsplit("/", 1)[1]
    m.click_link(m.find(f"main a[href='/campagnes/nieuw?segment={segment_id}']"), "campagne-nieuw")
    m.type("#name", f"Weekbrief volwassenen {run.tag}")
    lists = Select(m.find("#list"))
    weekbrief = [o.get_attribute("value") for o in lists.options if o.text.startswith("Weekbrief")]
    check(weekbrief, "the campaign form offers no Weekbrief list")
    lists.select_by_value(weekbrief[0])
    check(Select(m.find("#segment")).first_selected_option.get_attribute("value") == segment_id, "the form did not preselect the segment")
    Select(m.find("#template")).select_by_visible_text("Weekbrief")
    m.submit(m.find("form[action='/campagnes/nieuw'] button.primary"), "campagne-overzicht")
    recipients = int(re.sub(r"\D", "", m.text("#ontvangers")) or "0")
    check(0 < recipients <= counts[-1], f"the summary counts {recipients} recipients for a segment of {counts[-1]}")
    campaign_path = m.path()
    m.submit(m.find("form[action$='/verzenden'] button.primary"), "campagne-verzenden")
    check("De campagne wordt verzonden." in m.text("main"), f"sending led to {m.driver.current_url}")
    seen = set()

    def sent(driver):
        # The script polls the progress and shows the report when the campaign is sent.
        state = driver.execute_script("""const s = document.querySelector('[data-progress] [role=status]');
                                         const b = document.querySelector('.badges .badge');
                                         return [s ? s.textContent : '', b ? b.textContent : ''];""")
        if state[0]:
            seen.add(state[0])
        return state[1] == "verzonden"
    try:
        WebDriverWait(m.driver, 180, poll_frequency=0.3).until(sent)
    except Exception:
        raise Failure(f"the campaign did not finish in 3 minutes; progress seen: {sorted(seen)}")
    check(any(text.endswith(f"van {recipients} verzonden") or f"van {recipients} verzonden" in text for text in seen),
          f"the progress never showed 'van {recipients} verzonden': {sorted(seen)}")
    m.page("campagne-verzonden-rapport")
    campaign_id = campaign_path.rsplit("/", 1)[1]
    mails = []
    for _ in range(40):
        mails = [json.loads(p.read_text()) for p in Path(run.mail_dir).glob("*.json")]
        mails = [mail for mail in mails if (mail["headers"].get("x-kring-campaign") or [""])[0] == campaign_id]
        if len(mails) >= recipients:
            break
        time.sleep(0.5)
    check(len(mails) == recipients, f"the SMTP server received {len(mails)} mails of the campaign for {recipients} recipients")
    html = next(part["text"] for part in mails[0]["parts"] if part["content_type"] == "text/html")
    pixel = re.search(r'src="([^"]+/o/[^"]+)"', html)
    link = re.search(r'href="([^"]+/c/[^"]+)"', html)
    check(pixel and link, "the mail has no open pixel or tracked link")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    def fetch(url):
        local = urllib.parse.urlsplit(url.replace("&amp;", "&"))
        target = run.base + local.path + (f"?{local.query}" if local.query else "")
        try:
            with urllib.request.build_opener(NoRedirect).open(target, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
    check(fetch(pixel.group(1)) == 200, "the open pixel did not answer 200")
    check(fetch(link.group(1)) == 302, "the tracked link did not redirect")
    m.open(campaign_path, "campagne-rapport")
    figures = {li.find_element(By.CSS_SELECTOR, ".figure-label").text: li.find_element(By.CSS_SELECTOR, ".figure-value").text
               for li in m.finds("ul.figures li")}
    check(figures.get("Ontvangers") == f"{recipients:,}".replace(",", ".") and figures.get("Unieke opens") == "1"
          and figures.get("Unieke kliks") == "1", f"the report shows {figures}")
    check(m.finds("svg.chart") and len(m.finds("svg.chart")) == 2, "the report has not its two charts")

    # An analyst: the same count, nobody named, nothing to save.
    n = run.browser("n")
    n.sign_in(run.user("n"), run.password, run.library_a, "analist-inloggen")
    n.open(path, "analist-segment")
    WebDriverWait(n.driver, WAIT).until(lambda d: n.text("[data-count]") == dutch_count(counts[-1]))
    check(not n.finds("[data-sample] a") and not n.finds("button[value=save]") and not n.finds("a[href^='/klanten/']"),
          "the analyst sees people or a save button in the segment builder")
    n.open("/campagnes/segmenten", "analist-segmenten")
    check(not n.finds("a[href='/campagnes/segmenten/nieuw']"), "the analyst is offered a new segment")
    n.open(campaign_path, "analist-rapport")
    check(n.finds("ul.figures li") and not n.finds("form[action$='/verzenden']") and not n.finds("form[action$='/pauzeren']")
          and not n.finds("a[href='/campagnes/nieuw']"), "the analyst sees a send or pause button, or no report")


def test_7_mosaic(run):
    """An analyst opens the Mosaic report for one branch: the members per segment against the inhabitants, with the
    index bars; the figures equal a count written here against the database; the CSV download holds the same; a
    segment opens its subsegments with their characteristics. The demo's Mosaic data is generated (invented names)."""
    n = run.browser("n")
    n.sign_in(run.user("n"), run.password, run.library_a, "mosaic-inloggen")
    n.click_link(n.find("nav.sidenav a[href='/inzicht']"), "inzicht")
    check(n.path() == "/inzicht/kerncijfers" and n.text("main h2") == "Kerncijfers", f"Inzicht led to {n.driver.current_url}")
    # The key figures: the number of members now equals a count written here; the lines have their 13 months.
    schema = run.schema(run.library_a)
    rows = {r.find_element(By.TAG_NAME, "th").text: [td.text for td in r.find_elements(By.TAG_NAME, "td")]
            for r in n.finds("main table.kerncijfers tbody tr")}
    check("Leden" in rows and "NT2-leden" in rows, f"the key figures have no members: {list(rows)[:5]}")
    members = int(run.owner_sql(f"""SELECT count(*) FROM {schema}.customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL
                                     AND 'member' = ANY(c.roles) AND c.membership_status IN ('active', 'suspended')""")[0][0])
    check(rows["Leden"][0] == f"{members:,}".replace(",", "."), f"the key figures show {rows['Leden'][0]} members; the database has {members}")
    check(n.finds("main table.kerncijfers svg.sparkline polyline"), "the key figures draw no lines")
    n.click_link(n.find("main nav.tabs a[href='/inzicht/mosaic']"), "inzicht-mosaic")
    check(n.path() == "/inzicht/mosaic" and n.text("main h2") == "Mosaic", f"the Mosaic tab led to {n.driver.current_url}")
    check("synthetisch" in n.text("main p.quiet"), f"the report does not name the demo's delivery: {n.text('main p.quiet')!r}")
    branch = "Haarlem Centrum"
    Select(n.find("#vestiging")).select_by_visible_text(branch)
    n.submit(n.button("Toon"), "mosaic-vestiging")
    check(f"Vestiging {branch}" in n.text("main"), f"the report is not for {branch}: {n.text('main')[:300]!r}")
    check(n.finds("main svg.chart rect"), "the report has no index bars")
    total = n.find("main table.list tfoot").find_elements(By.TAG_NAME, "td")
    members = int(total[1].text.replace(".", ""))
    expected = run.owner_sql(f"""SELECT count(*) FROM {schema}.customers c
                                 JOIN {schema}.branches b ON b.id = c.favourite_branch_id AND b.name = '{branch}'
                                 JOIN reference.mosaic_deliveries d ON d.current
                                 JOIN reference.mosaic_postcodes p ON p.delivery_id = d.id AND p.postcode = c.postcode
                                 WHERE c.erased_at IS NULL AND 'member' = ANY(c.roles) AND c.membership_status IN ('active', 'suspended')
                                   AND p.municipality = b.municipality""")[0][0]
    check(members == int(expected) and members > 0, f"the report counts {members} members for {branch}; the database {expected}")
    guests = int(total[4].text.replace(".", ""))
    expected = run.owner_sql(f"""SELECT count(*) FROM {schema}.customers c
                                 JOIN {schema}.branches b ON b.id = c.favourite_branch_id AND b.name = '{branch}'
                                 JOIN reference.mosaic_deliveries d ON d.current
                                 JOIN reference.mosaic_postcodes p ON p.delivery_id = d.id AND p.postcode = c.postcode
                                 WHERE c.erased_at IS NULL AND 'guest' = ANY(c.roles) AND p.municipality = b.municipality""")[0][0]
    check(guests == int(expected) and guests > 0, f"the report counts {guests} activity guests for {branch}; the database {expected}")
    links = [a for a in n.finds("main a") if a.text.strip() == "Downloaden (CSV)"]
    check(len(links) == 1, "no CSV download on the report")
    path = urllib.parse.urlsplit(links[0].get_attribute("href"))
    status, headers, body = n.download(path.path + "?" + path.query)
    check(status == 200 and headers.get("content-type", "").startswith("text/csv"), f"the CSV answers {status} {headers.get('content-type')}")
    lines = body.decode("utf-8-sig").strip().split("\r\n")
    check(lines[0].startswith('"code";"naam";"inwoners"'), f"the CSV starts with {lines[0]!r}")
    in_csv = sum(int(row.split(";")[4]) for row in lines[1:])
    check(in_csv == members, f"the CSV's members add up to {in_csv}, the page says {members}")
    first = n.find("main table.list tbody th a")
    segment = first.text
    n.click_link(first, "mosaic-subsegmenten")
    check(f"{segment}: de subsegmenten" in n.text("main h3"), f"the drill-down is headed {n.text('main h3')!r}")
    check("Kenmerken van de subsegmenten" in n.text("main") and len(n.finds("main table.list")) == 2,
          "the subsegments show no table of characteristics")


def test_8_probiblio(run):
    """Probiblio's console: a platform administrator signs in with two-factor, sees the libraries with the nightly
    figures (equal to what the database holds), connects a new library whose first administrator is invited by mail,
    suspends and resumes it with a reason, checks and loads a Mosaic delivery in the browser (a dry run with a bad row,
    then the demo's own files, which change nothing), and compares all libraries' figures, where any figure over fewer
    than 10 people reads "< 10" and no page shows a person."""
    email, secret = run.user("p"), run.platform_secret
    check(secret, "no two-factor secret for the platform administrator: set KRING_BROWSER_PLATFORM_SECRET (Admin/tests/run.sh does)")
    p = run.browser("p")
    p.sign_in(email, run.password, "probiblio", "probiblio-inloggen")
    check(p.path() == "/inloggen/code", f"a platform administrator's password led to {p.driver.current_url}, not the code")
    p.type("#code", totp(secret.encode(), current_step()))
    p.submit(p.find("form[action='/inloggen/code'] button.primary"), "probiblio-ingelogd")
    check(p.path() == "/platform" and "Probiblio-console" in p.text("h1"), f"the console did not open: {p.driver.current_url}")

    # The libraries, with the members of the latest figures (or "nog geen" before the first night).
    schema_a = run.schema(run.library_a)
    name_a = run.owner_sql(f"SELECT name FROM platform.tenants WHERE slug = '{run.library_a}'")[0][0]
    row = [r for r in p.finds("main table.list tbody tr") if name_a in r.text]
    check(row, f"the console does not list {name_a}")
    figure = run.owner_sql(f"""SELECT value::bigint, people FROM platform.library_figures f JOIN platform.tenants t ON t.id = f.tenant_id
                               WHERE t.slug = '{run.library_a}' AND f.code = 'members' ORDER BY day DESC LIMIT 1""")
    cells = [td.text for td in row[0].find_elements(By.TAG_NAME, "td")]
    if figure:
        value, people = int(figure[0][0]), int(figure[0][1])
        shown = "< 10" if people < 10 else dutch_count(value).split()[0]
        check(cells[1] == shown, f"the console shows {cells[1]!r} members for {name_a}; the figures say {shown!r}")
        current = int(run.owner_sql(f"""SELECT count(*) FROM {schema_a}.customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL
                                         AND 'member' = ANY(c.roles) AND c.membership_status IN ('active', 'suspended')""")[0][0])
        run.log(f"{name_a}: {value} members in the latest figures, {current} now")
    else:
        run.note("no figures yet (the worker's first run has not happened): the console shows none")

    # A new library, its first administrator invited by mail.
    slug = f"bt-p{run.tag}"[:39].lower()
    p.type("#name", f"Bibliotheek Browsertest {run.tag}")
    p.type("#slug", slug)
    admin = f"beheer-{run.tag}@{slug}.example"
    p.type("#admin_email", admin)
    p.type("#admin_name", "Eerste Beheerder")
    p.submit(p.button("Aansluiten en uitnodigen"), "probiblio-aangesloten")
    check(p.path() == f"/platform/bibliotheken/{slug}", f"connecting led to {p.driver.current_url}")
    check("Aangesloten" in p.text("main table.list"), "the library's log does not say it was connected")
    check(admin not in p.text("main"), "the console shows the administrator's address")
    jobs = run.owner_sql(f"""SELECT count(*) FROM platform.jobs j JOIN platform.tenants t ON t.id = j.tenant_id
                             WHERE t.slug = '{slug}' AND j.kind = 'staff.invitation'""")[0][0]
    check(jobs == "1", f"{jobs} invitation jobs for the new library's administrator")
    if run.mail_dir:
        invitation = []
        for _ in range(40):
            invitation = [m for m in (json.loads(f.read_text()) for f in Path(run.mail_dir).glob("*.json"))
                          if admin in m.get("rcpt_tos", [])]
            if invitation:
                break
            time.sleep(0.5)
        check(invitation, f"no invitation mail reached {admin}")
        p.open(f"/platform/bibliotheken/{slug}", "probiblio-uitnodiging-verstuurd")
        check("1 verstuurd" in p.text("main dl.facts"), f"the library page says of its invitation: {p.text('main dl.facts')!r}")

    # Suspended with a reason (required), and active again.
    p.type("#reason", "Proef van de browsertest")
    p.submit(p.button("Schorsen"), "probiblio-geschorst")
    check("Geschorst" in p.text("main dl.facts") and "Proef van de browsertest" in p.text("main table.list"),
          "the suspension and its reason are not shown")
    p.type("#reason", "Einde van de proef")
    p.submit(p.button("Weer actief maken"), "probiblio-hervat")
    check(run.owner_sql(f"SELECT status FROM platform.tenants WHERE slug = '{slug}'")[0][0] == "active", "the library is not active again")

    # Mosaic: a dry run of the demo's files with one bad row, then the demo's own files, which are the current delivery.
    folder = Path(tempfile.mkdtemp(prefix=f"kring-browsertest-{run.tag}-mosaic-"))
    done = subprocess.run([os.environ.get("KRING_BIN", "kring"), "mosaic", "demo", "--out", str(folder)], capture_output=True, text=True, timeout=120)
    check(done.returncode == 0, f"kring mosaic demo failed: {done.stderr.strip()}")
    bad = folder / "areas-with-a-bad-row.csv"
    bad.write_text((folder / "areas.csv").read_text(encoding="utf-8") + "2011 ZZ;Haarlem;Q99;3;7\r\n", encoding="utf-8")
    p.click_link(p.find("main nav.tabs a[href='/platform/mosaic']"), "probiblio-mosaic")
    p.type("#label", f"Browsertest {run.tag}")
    p.find("#scheme").send_keys(str(folder / "scheme.csv"))
    p.find("#areas").send_keys(str(bad))
    check(p.find("#dry_run").is_selected(), "a dry run is not the default")
    p.submit(p.button("Controleren of laden"), "probiblio-mosaic-proef")
    check("Proef: zou laden: 11 segmenten, 59 subsegmenten" in p.text("main"), f"the dry run says {p.text('main .notice')!r}")
    check("Q99" in p.text("main table.list caption ~ tbody") or "Q99" in p.text("main"), "the bad row is not listed")
    p.type("#label", "Demo (synthetisch)")
    p.find("#scheme").send_keys(str(folder / "scheme.csv"))
    p.find("#areas").send_keys(str(folder / "areas.csv"))
    p.find("#dry_run").click()
    p.submit(p.button("Controleren of laden"), "probiblio-mosaic-geladen")
    check("al de huidige levering" in p.text("main"), f"loading the demo's files again says {p.text('main .notice')!r}")

    # All libraries side by side, a group of figures at a time: "< 10" under ten people, the province below.
    p.click_link(p.find("main nav.tabs a[href='/platform/cijfers']"), "probiblio-cijfers")
    if figure:
        p.click_link([a for a in p.finds("main ul.choices a") if a.text == "Abonnementen"][0], "probiblio-cijfers-abonnementen")
        headers = [th.text for th in p.finds("main table.comparison thead th")]
        check(headers[0] == "Bibliotheek" and "NT2-leden" in headers, f"the figures table is headed {headers}")
        check(p.text("main table.comparison tfoot th") == "Provincie", "no province below the libraries")
        rows = [r for r in p.finds("main table.comparison tbody tr") if r.find_element(By.TAG_NAME, "th").text == name_a]
        check(rows, f"no row for {name_a}")
        counted = run.owner_sql(f"""SELECT people FROM platform.library_figures f JOIN platform.tenants t ON t.id = f.tenant_id
                                    WHERE t.slug = '{run.library_a}' AND f.code = 'members_nt2' ORDER BY day DESC LIMIT 1""")[0][0]
        cell = rows[0].find_elements(By.CSS_SELECTOR, "th, td")[headers.index("NT2-leden")].text
        check((cell == "< 10") == (int(counted) < 10), f"{name_a}'s NT2 members read {cell!r} for {counted} people")
        p.click_link([a for a in p.finds("main ul.choices a") if a.text == "Mail"][0], "probiblio-cijfers-mail")
        check("Verstuurde mails (30 dagen)" in p.text("main table.comparison thead"), "the Mail group shows other figures")
    check("@" not in p.text("main"), "the figures page shows an e-mail address")
    status, headers, body = p.download("/platform/cijfers.csv")
    check(status == 200 and headers.get("content-type", "").startswith("text/csv"), f"the figures' CSV answers {status}")

    # Gezondheid: the mails of the last hour as the workers counted them, per minute and per library.
    p.click_link(p.find("main nav.tabs a[href='/platform/gezondheid']"), "probiblio-gezondheid")
    counted = int(run.owner_sql("""SELECT coalesce(sum(sent), 0) FROM platform.send_counts
                                   WHERE minute >= date_trunc('minute', now()) - interval '60 minutes'
                                     AND minute < date_trunc('minute', now())""")[0][0])
    if counted:
        shown = p.text("main").split("Het afgelopen uur ", 1)[1].split(" mails", 1)[0]
        check(shown == f"{counted:,}".replace(",", "."), f"the health page counts {shown} mails in the last hour; the workers {counted}")
        check(p.finds("main figure.sends svg"), "no line of the sends per minute")
    else:
        check("Het afgelopen uur zijn er geen mails verstuurd." in p.text("main"), "the health page shows sends the workers did not count")
    check("Takenwachtrij" in p.text("main") and p.finds("main table.list tbody tr"), "the health page has no libraries or queue")


def test_9_quiet_members(run):
    """The churn early warning at the front desk: Klanten, Stille leden; the count equals one written here against the
    database; "Contact gezocht" on the first member puts an outbound contact moment on the timeline and the list says so;
    the list of those not yet contacted no longer shows them."""
    a = run.browser("a2")
    # a2, not a: test_1 turns two-factor sign-in on for a.
    a.sign_in(run.user("a2"), run.password, run.library_a, "stille-leden-inloggen")
    a.click_link(a.find("nav.sidenav a[href='/klanten']"), "klanten")
    a.click_link(a.button("Stille leden"), "stille-leden")
    check(a.path() == "/klanten/stille-leden" and a.text("h1") == "Stille leden", f"Stille leden led to {a.driver.current_url}")
    schema = run.schema(run.library_a)
    expected = int(run.owner_sql(f"""SELECT count(*) FROM {schema}.customers c
                                     WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND 'member' = ANY(c.roles)
                                       AND c.membership_status = 'active' AND c.last_loan_date IS NOT NULL
                                       AND c.last_loan_date < (now() AT TIME ZONE 'Europe/Amsterdam')::date - 365""")[0][0])
    shown = int(re.sub(r"\D", "", a.text("main p strong").split(" actie")[0]) or "0")
    check(shown == expected and expected > 0, f"the page counts {shown} quiet members; the database {expected}")
    rows = a.finds("main table.members tbody tr")
    uncontacted = [r for r in rows if r.find_elements(By.CSS_SELECTOR, "form button")]
    check(uncontacted, "no member to contact on the first page")
    link = uncontacted[0].find_element(By.TAG_NAME, "a")
    name, href = link.text, link.get_attribute("href")
    a.submit(uncontacted[0].find_element(By.CSS_SELECTOR, "form button"), "stille-leden-contact")
    check("Vastgelegd op de tijdlijn." in a.text("main"), "no notice after Contact gezocht")
    row = [r for r in a.finds("main table.members tbody tr") if r.find_element(By.TAG_NAME, "a").get_attribute("href") == href]
    check(row and "contact gezocht op" in row[0].text, f"the list does not say {name} was contacted")
    customer = href.rsplit("/", 1)[1]
    moments = run.owner_sql(f"""SELECT count(*) FROM {schema}.contact_moments WHERE customer_id = '{customer}'
                                AND direction = 'outbound' AND subject LIKE 'Vroegsignalering:%'""")[0][0]
    check(moments == "1", f"{moments} early-warning contact moments on {name}'s timeline")
    a.find("#open").click()
    a.submit(a.button("Toon"), "stille-leden-open")
    check(href not in [r.get_attribute("href") for r in a.finds("main table.members tbody a")], f"{name} is still among those not contacted")


def test_10_mosaic_segment(run):
    """A marketer opens a Mosaic segment's subsegments and makes a segment of the subsegment with the most members in
    one click: the builder holds "active members in that subsegment", its count equals the API's for the same rule and
    a count written here against the database; the segment is saved with the count."""
    email = run.user("m")
    m = run.browser("m")
    m.sign_in(email, run.password, run.library_a, "mosaic-segment-inloggen")
    m.click_link(m.find("nav.sidenav a[href='/inzicht']"), "mosaic-segment-inzicht")
    m.click_link(m.find("main nav.tabs a[href='/inzicht/mosaic']"), "mosaic-segment-mosaic")
    check(m.finds("main table.list tbody th a"), "the Mosaic report has no segments to open")
    schema = run.schema(run.library_a)
    # The segment with the most members, then its subsegment with the most.
    def most(rows):
        return max(rows, key=lambda r: int(r.find_elements(By.TAG_NAME, "td")[1].text.replace(".", "") or "0"))
    top = most([r for r in m.finds("main table.list tbody tr") if r.find_elements(By.CSS_SELECTOR, "th a")])
    m.click_link(top.find_element(By.CSS_SELECTOR, "th a"), "mosaic-segment-subsegmenten")
    row = most([r for r in m.finds("main table.list")[0].find_elements(By.CSS_SELECTOR, "tbody tr")
                if r.find_elements(By.XPATH, ".//a[starts-with(normalize-space(.), 'Segment maken')]")])
    code = row.find_element(By.TAG_NAME, "th").text.split()[0]
    m.click_link(row.find_element(By.XPATH, ".//a[starts-with(normalize-space(.), 'Segment maken')]"), "mosaic-segment-nieuw")
    check(m.path() == "/campagnes/segmenten/nieuw", f"Segment maken led to {m.driver.current_url}")
    rule = json.loads(m.find("#rule").get_attribute("value"))
    check({"field": "mosaic_subsegment", "op": "=", "value": code} in rule.get("all", [])
          and {"field": "membership_status", "op": "=", "value": "active"} in rule.get("all", []),
          f"the builder does not hold active members of subsegment {code}: {rule}")
    expected = int(run.owner_sql(f"""SELECT count(*) FROM {schema}.customers c
                                     JOIN reference.mosaic_deliveries d ON d.current
                                     JOIN reference.mosaic_postcodes p ON p.delivery_id = d.id AND p.postcode = c.postcode
                                     WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND c.membership_status = 'active'
                                       AND p.subsegment_code = '{code}'""")[0][0])
    api = api_preview(run, email, rule)
    try:
        WebDriverWait(m.driver, WAIT).until(lambda d: m.text("[data-count]") == dutch_count(expected))
    except Exception:
        raise Failure(f"the builder counts {m.text('[data-count]')!r} for subsegment {code}; the database {expected}, the API {api}")
    check(api == expected and expected > 0, f"the API counts {api} for subsegment {code}; the database {expected}")
    check(m.find("#name").get_attribute("value").startswith("Mosaic "), f"the segment is named {m.find('#name').get_attribute('value')!r}")
    m.find("#name").clear()
    m.type("#name", f"Mosaic {code} {run.tag}")
    m.submit(m.find("button[value=save]"), "mosaic-segment-opgeslagen")
    check("Het segment is opgeslagen." in m.text("main"), f"saving led to {m.driver.current_url}")
    WebDriverWait(m.driver, WAIT).until(lambda d: m.text("[data-count]") == dutch_count(expected))


def test_11_retention(run):
    """The library's administrator opens Beheer, Instellingen: the retention terms with their defaults, and a sentence
    saying what the coming night's run would remove, which agrees with counts written here against the database. A
    term below its minimum comes back with a Dutch message at the field; nothing is saved."""
    t = run.browser("t")
    t.sign_in(run.user("t"), run.password, run.library_a, "bewaartermijnen-inloggen")
    t.click_link(t.find("nav.sidenav a[href='/beheer']"), "beheer")
    t.click_link(t.find("main nav.tabs a[href='/beheer/instellingen']"), "bewaartermijnen")
    terms = {name: t.find(f"#{name}").get_attribute("value") for name in
             ["retention_ended_members_months", "retention_guests_months", "retention_mail_events_months", "retention_audit_months"]}
    schema = run.schema(run.library_a)
    stored = dict(run.owner_sql(f"SELECT key, value #>> '{{}}' FROM {schema}.settings WHERE key LIKE 'retention\\_%'"))
    defaults = {"retention_ended_members_months": "24", "retention_guests_months": "12", "retention_mail_events_months": "13",
                "retention_audit_months": "24"}
    check(terms == {k: stored.get(k, v) for k, v in defaults.items()}, f"the form shows {terms}; the library keeps {stored}")
    # Counted here: ended members past the term, guests past theirs, mail events and audit records past theirs
    # (without the ties that keep a person; when none is past its term, the page must say nothing goes).
    months = {k: int(v) for k, v in terms.items()}
    past = int(run.owner_sql(f"""SELECT
        (SELECT count(*) FROM {schema}.customers WHERE erased_at IS NULL AND merged_into IS NULL AND membership_status = 'ended'
           AND membership_end < (now() - interval '{months["retention_ended_members_months"]} months')::date)
      + (SELECT count(*) FROM {schema}.customers WHERE erased_at IS NULL AND merged_into IS NULL AND roles = '{{guest}}'
           AND created_at < now() - interval '{months["retention_guests_months"]} months')
      + (SELECT count(*) FROM {schema}.campaign_events WHERE at < now() - interval '{months["retention_mail_events_months"]} months')
      + (SELECT count(*) FROM {schema}.audit_log WHERE at < now() - interval '{months["retention_audit_months"]} months')""")[0][0])
    sentence = t.text("[data-retention-dry-run]")
    if past == 0:
        check(sentence == "Met deze termijnen verdwijnt er vannacht niets.", f"nothing is past its term, yet the page says {sentence!r}")
    else:
        check(sentence.startswith("Met deze termijnen worden vannacht"), f"{past} things are past their terms; the page says {sentence!r}")
    t.type("#retention_audit_months", "6")
    t.submit(t.button("Opslaan"), "bewaartermijnen-te-kort", status=422)
    check("Vul een aantal maanden in, van 12 tot 120." in t.text(".error-summary"), f"a 6-month audit term gave {t.text('main')[:200]!r}")
    check(t.find("#retention_audit_months").get_attribute("value") == "6", "the form lost what was typed")
    still = run.owner_sql(f"SELECT value #>> '{{}}' FROM {schema}.settings WHERE key = 'retention_audit_months'")
    check(still == [] or still[0][0] != "6", f"the audit term was saved as {still}")


def signed_in_chrome(browser, what):
    """An error page still shows a signed-in person as signed in: their library, search and Uitloggen."""
    check(browser.finds("header form[action='/uitloggen']") and browser.finds("#zoek")
          and "Naar inloggen" not in browser.text("main"),
          f"{what} shows a signed-in person the signed-out page (no Uitloggen or search in the top bar, or 'Naar inloggen')")


class Skip(Exception):
    pass


TESTS = [test_1_frontdesk, test_2_checkin, test_3_first_import, test_4_isolation, test_5_relations, test_6_segments,
         test_7_mosaic, test_8_probiblio, test_9_quiet_members, test_10_mosaic_segment,
         test_11_retention]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="where Kring runs, e.g. http://127.0.0.1:8080")
    parser.add_argument("--shots", required=True, help="folder for the screenshots")
    parser.add_argument("--only", help="run only the tests whose name starts with this (e.g. test_1)")
    environ = os.environ.get
    parser.add_argument("--password", default=environ("KRING_BROWSER_PASSWORD"))
    parser.add_argument("--user-a", default=environ("KRING_BROWSER_USER_A"))
    parser.add_argument("--user-a2", default=environ("KRING_BROWSER_USER_A2"))
    parser.add_argument("--user-b", default=environ("KRING_BROWSER_USER_B"))
    parser.add_argument("--user-m", default=environ("KRING_BROWSER_USER_M"))
    parser.add_argument("--user-r", default=environ("KRING_BROWSER_USER_R"))
    parser.add_argument("--user-n", default=environ("KRING_BROWSER_USER_N"))
    parser.add_argument("--user-t", default=environ("KRING_BROWSER_USER_T"), help="an administrator of library A, for test_11")
    parser.add_argument("--user-p", default=environ("KRING_BROWSER_USER_P"), help="a platform administrator, for test_8")
    parser.add_argument("--platform-secret", default=environ("KRING_BROWSER_PLATFORM_SECRET"), help="its two-factor secret")
    parser.add_argument("--mail-dir", default=environ("KRING_BROWSER_MAIL_DIR"))
    parser.add_argument("--owner-database-url", default=environ("KRING_OWNER_DATABASE_URL"),
                        help="the database as kring_owner, for test_2's member numbers and test_3's import")
    parser.add_argument("--library-a", default=environ("KRING_BROWSER_LIBRARY_A", "zuid-kennemerland"))
    parser.add_argument("--library-b", default=environ("KRING_BROWSER_LIBRARY_B", "amstelland"))
    parser.add_argument("--new-library", default=environ("KRING_BROWSER_NEW_LIBRARY"),
                        help="the slug of a library without branches or customers, for test_3's first import")
    parser.add_argument("--new-admin", default=environ("KRING_BROWSER_NEW_ADMIN"), help="its tenant admin's e-mail address")
    options = parser.parse_args()

    run = Run(options)
    tests = [t for t in TESTS if not options.only or t.__name__ == options.only or t.__name__.startswith(options.only + "_")]
    if not tests:
        print(f"browser_test: no test named {options.only!r}; tests: {', '.join(t.__name__ for t in TESTS)}", file=sys.stderr)
        return 2
    print(f"browser tests against {run.base}, screenshots in {run.shots.resolve()}", flush=True)
    passed = failed = skipped = 0
    for test in tests:
        run.test, run.counter, run.problems, run.notes, run.reviews = test.__name__, 0, [], [], set()
        started = time.time()
        error = None
        try:
            test(run)
        except Skip as skip:
            print(f"SKIP {test.__name__}: {skip}", flush=True)
            skipped += 1
            continue
        except Failure as failure:
            error = str(failure)
        except Exception:
            # Chromium's own stack of addresses after "Stacktrace:" tells nothing here.
            error = traceback.format_exc().split("\nStacktrace:")[0].rstrip()
        finally:
            for browser in run.browsers:
                if error:
                    try:
                        run.screenshot(browser.driver, f"{test.__name__}-failed-{browser.label}")
                    except Exception:
                        pass
                browser.quit()
            run.browsers = []
        took = time.time() - started
        if error or run.problems:
            failed += 1
            print(f"FAIL {test.__name__} ({took:.0f} s)", flush=True)
            if error:
                print(f"     {error}", flush=True)
            for problem in run.problems:
                print(f"     {problem}", flush=True)
        else:
            passed += 1
            print(f"PASS {test.__name__} ({took:.0f} s){f', {len(run.notes)} notes' if run.notes else ''}", flush=True)
    print(f"screenshots: {run.shots.resolve()}")
    print(f"browser: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
