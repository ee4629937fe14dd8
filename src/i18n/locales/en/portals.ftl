# The admin API's answers about a portal's language (PUT /api/v1/portals/{id}/language).

api-portal-not-found = No portal with this id.
