# Ответы API администратора о языке портала (PUT /api/v1/portals/{id}/language).

api-portal-not-found = Портала с таким id нет.
