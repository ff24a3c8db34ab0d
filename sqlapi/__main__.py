from sqlapi.cli import main

main()
