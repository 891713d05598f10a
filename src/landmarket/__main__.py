from landmarket.cli import main

main()
