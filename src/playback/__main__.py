from playback.cli import main

main()
