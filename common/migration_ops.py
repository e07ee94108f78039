"""Migration operations for what Django 5.2's schema editor cannot express.

- `CascadeOnDelete`: Django emulates ON DELETE CASCADE in Python and creates foreign keys without a rule (so MySQL
  reports RESTRICT). The seed wants the rule in the database too, so that rows deleted outside Django (a DBA, a
  retention job in SQL) do not leave orphans. Caveat: a later migration that alters one of these fields makes Django
  recreate the constraint without the rule; re-run this operation after such a migration (the schema fidelity check
  in CI catches it).
- `SeedViews`: the seed's analytics views.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState, StateApps


def _mysql_foreign_key_name(schema_editor: BaseDatabaseSchemaEditor, table: str, column: str) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """SELECT constraint_name FROM information_schema.key_column_usage
               WHERE table_schema = DATABASE() AND table_name = %s AND column_name = %s
                 AND referenced_table_name IS NOT NULL""",
            [table, column],
        )
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"No foreign key on {table}.{column}")
    return row[0]


class CascadeOnDelete(migrations.RunPython):
    """Recreate the foreign key `table.column -> ref_table(id)` with ON DELETE CASCADE (MySQL/MariaDB only)."""

    def __init__(self, table: str, column: str, ref_table: str) -> None:
        self.table, self.column, self.ref_table = table, column, ref_table
        super().__init__(self._forward, self._backward)

    def _rebuild(self, schema_editor: BaseDatabaseSchemaEditor, rule: str) -> None:
        if schema_editor.connection.vendor != "mysql":
            return  # SQLite: Django's Python-side cascade is what applies there
        name = _mysql_foreign_key_name(schema_editor, self.table, self.column)
        qn = schema_editor.quote_name
        # Two statements: MariaDB refuses to drop and re-add a constraint of the same name in one ALTER.
        schema_editor.execute(f"ALTER TABLE {qn(self.table)} DROP FOREIGN KEY {qn(name)}")
        schema_editor.execute(
            f"ALTER TABLE {qn(self.table)} ADD CONSTRAINT {qn(name)} FOREIGN KEY ({qn(self.column)}) "
            f"REFERENCES {qn(self.ref_table)} (`id`) ON DELETE {rule}"
        )

    def _forward(self, apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        self._rebuild(schema_editor, "CASCADE")

    def _backward(self, apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        self._rebuild(schema_editor, "RESTRICT")

    def describe(self) -> str:
        return f"ON DELETE CASCADE for {self.table}.{self.column}"


class MySQLOnly(migrations.RunSQL):
    """Raw SQL run on MySQL/MariaDB only (the seed's views)."""

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor == "mysql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor == "mysql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
