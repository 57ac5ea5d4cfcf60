import yaml

from atspectrum.runtime import io, logs

logs.to_file(snakemake.log[0])
header = "# The configuration this run used, every default filled in (written by the run_config rule).\n"
io.write_text(snakemake.output[0], header + yaml.safe_dump(dict(snakemake.params.config), sort_keys=False))
