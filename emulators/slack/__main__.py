from emulators.slack.cli import main

main()
