"""Where every benchmark writes its result: ``bench/results/<name>-<date>-<time>[-<label>].json``, echoed."""

import datetime
import json
import os


def write(out_dir: str, name: str, result: dict, label: str = "") -> str:
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(out_dir, f"{name}-{stamp}{'-' + label if label else ''}.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=2)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    return path
