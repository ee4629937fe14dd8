# Shared pieces: units with their plural forms, date joins.

unit-seconds = { $count ->
    [one] { $count } second
   *[other] { $count } seconds
}

# A date and a time: "7 Dec 2026, 14:05 UTC".
date-time = { $date }, { $time }
