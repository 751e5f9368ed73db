"""Serve Vigil on a spare port, upload a labelled series, judge every detector on the Evaluate
page and save a screenshot of it.

python scripts/evaluate_screenshot.py docs/evaluate.png
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.chromium import chromium_flags
from scripts.readme_screenshot import serving

STEPS_A_DAY = 96  # 15-minute points


def labelled_cpu(seed: int = 0, days: int = 21) -> pd.DataFrame:
    """Three weeks of a 15-minute CPU series with a daily cycle and heavy-tailed noise
    (Student's t, 3 degrees of freedom), two spikes, a dip of six points and a lasting level
    shift, and a 0/1 `label` column marking them (the shift's first eight points)."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-03-01", periods=days * STEPS_A_DAY, freq="15min")
    hours = times.hour.to_numpy() + times.minute.to_numpy() / 60
    values = 50 + 12 * np.sin(2 * np.pi * (hours - 8) / 24) + 1.5 * rng.standard_t(3, len(times))
    labels = np.zeros(len(times), dtype=int)
    for spike in (5 * STEPS_A_DAY + 37, 13 * STEPS_A_DAY + 70):
        values[spike] += 25
        labels[spike] = 1
    dip = 9 * STEPS_A_DAY + 44
    values[dip : dip + 6] -= 15
    labels[dip : dip + 6] = 1
    shift = 16 * STEPS_A_DAY + 20
    values[shift:] += 12
    labels[shift : shift + 8] = 1
    return pd.DataFrame({"timestamp": times, "cpu": values.round(2), "label": labels})


def main() -> None:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/evaluate.png")
    output.parent.mkdir(parents=True, exist_ok=True)
    csv = io.BytesIO(labelled_cpu().to_csv(index=False).encode())
    with serving(DEMO="false") as url:
        answer = requests.post(
            f"{url}/api/v1/datasets", files={"file": ("labelled-cpu.csv", csv)}, timeout=60
        )
        answer.raise_for_status()
        options = webdriver.ChromeOptions()
        for flag in chromium_flags(1400, 1120):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options)
        try:
            driver.get(f"{url}/evaluate?dataset={answer.json()['id']}")
            wait = WebDriverWait(driver, 120)
            wait.until(lambda d: d.find_element(By.ID, "evaluate-label-column").text == "label")
            if len(sys.argv) > 2:  # an alert budget to type in
                budget = driver.find_element(By.ID, "evaluate-budget")
                budget.clear()
                budget.send_keys(sys.argv[2])
            driver.find_element(By.ID, "evaluate-run").click()
            wait.until(lambda d: d.find_elements(By.ID, "evaluate-best"))
            wait.until(lambda d: d.find_element(By.ID, "evaluate-run").is_enabled())
            driver.execute_script("return new Promise(r => setTimeout(r, 1500))")
            driver.save_screenshot(str(output))
        finally:
            driver.quit()
    print(f"saved {output}")


if __name__ == "__main__":
    main()
