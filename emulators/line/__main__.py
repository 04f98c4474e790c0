from emulators.line.cli import main

main()
