from farthing.cli.main import app

app(prog_name="farthing")
