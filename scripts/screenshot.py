"""Take a screenshot of a running Vigil page in headless Chromium.

python scripts/screenshot.py http://127.0.0.1:8050/analyze docs/analyze.png --wait analyze-count
python scripts/screenshot.py http://127.0.0.1:8050/live docs/live.png --wait-css .js-plotly-plot
python scripts/screenshot.py http://10.0.0.5:8050/alerts alerts.png --sign-in vera:PASSWORD
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.chromium import chromium_flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("output")
    parser.add_argument("--wait", help="id of an element to wait for before the shot")
    parser.add_argument("--wait-css", help="a CSS selector to wait for before the shot")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds to wait after")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1100)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument(
        "--sign-in", metavar="NAME:PASSWORD", help="sign in first (when the app asks for it)"
    )
    args = parser.parse_args()

    options = webdriver.ChromeOptions()
    for flag in chromium_flags(args.width, args.height):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options)
    try:
        if args.sign_in:
            name, _, password = args.sign_in.partition(":")
            root = args.url.split("/", 3)
            driver.get(f"{root[0]}//{root[2]}/login")
            driver.find_element(By.ID, "name").send_keys(name)
            driver.find_element(By.ID, "password").send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        driver.get(args.url)
        if args.wait:
            WebDriverWait(driver, args.timeout).until(
                expected_conditions.presence_of_element_located((By.ID, args.wait))
            )
        if args.wait_css:
            WebDriverWait(driver, args.timeout).until(
                expected_conditions.presence_of_element_located((By.CSS_SELECTOR, args.wait_css))
            )
        driver.implicitly_wait(1)
        driver.execute_script(f"return new Promise(r => setTimeout(r, {args.settle * 1000:.0f}))")
        driver.save_screenshot(args.output)
        for entry in driver.get_log("browser"):
            print(json.dumps(entry))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
