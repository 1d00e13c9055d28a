import type {
  ColumnState,
  ForeignKeyState,
  FunctionState,
  IndexState,
  KeyState,
  SchemaState,
  TableState
} from './schema-state'
import { describeColumn, describeRange, sameList, sameRange, sameSet, typeOf } from './schema-state'
import {
  addConstraint,
  checkConstraint,
  columnChecks,
  columnDefinition,
  createIndex,
  createTable,
  dropConstraint,
  dropFunction,
  dropIndex,
  dropTable,
  dropTrigger,
  dropUnique,
  foreignKeyConstraint,
  id,
  primaryKeyConstraint,
  rangeCheckName,
  rangeCondition,
  uniqueConstraint,
  valuesCheckName,
  valuesCondition
} from './sql'

/**
 * The difference between two schema states as a list of operations (Django's autodetector): a
 * pure function, from the state a database is in (or the one the migrations build) to the state
 * the declarations imply. Each operation says what it does, how the two states differ, and its
 * SQL forward and back; one that loses data or may fail on the rows there are carries a warning.
 * `migration:new` writes them into a migration, `migration:check` and the startup drift check
 * list their differences. A rename is never guessed: a column is renamed only where the
 * declaration says so (`renamed`); anything else that moved is dropped and added.
 */

/** The order operations run in: what goes first makes room for what comes after. */
export enum Phase {
  CreateFunction,
  DropTrigger,
  DropForeignKey,
  Rename,
  DropKey,
  DropColumn,
  DropTable,
  CreateTable,
  AddColumn,
  AlterColumn,
  AddKey,
  AddForeignKey,
  CreateTrigger,
  Fill,
  DropFunction
}

export interface Operation {
  phase: Phase
  /** What it does, for whoever reviews the migration: `patients.nickname: add the column (varchar(40), may be null)`. */
  summary: string
  /** How the two states differ, as `migration:check` and the startup check say it. */
  difference: string
  /** The table it changes, if any. */
  table?: string
  /** The declared resource (or table) it serves, where the declared state says so. */
  of?: string
  up: string[]
  down: string[]
  /** Data it loses, or why it may fail on the rows there are: printed, and written beside it. */
  warning?: string
}

export interface DiffOptions {
  /**
   * `all` (migrations): tables and functions no declaration has are dropped. `declared` (the
   * startup check of one server's resources): only what is declared is compared.
   */
  scope?: 'all' | 'declared'
}

/** `a foreign key`, `an index`. */
const article = (what: string) => (/^[aeiou]/.test(what) ? `an ${what}` : `a ${what}`)

const byName = <T extends { name: string }>(items: readonly T[]) =>
  new Map(items.map((item) => [item.name, item]))

const list = (columns: readonly string[]) => `(${columns.join(', ')})`

const NUMBER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3, 'double precision': 4 }
const TEXT_TYPES = new Set(['text', 'varchar'])

/** Whether a column of `from` may hold a value that `to` cannot, so the change may fail. */
function narrows(from: ColumnState, to: ColumnState): boolean {
  if (TEXT_TYPES.has(from.type) && TEXT_TYPES.has(to.type)) {
    if (to.type === 'text') return false
    return from.type === 'text' || (from.length ?? Infinity) > (to.length ?? Infinity)
  }
  if (from.type in NUMBER_RANK && to.type in NUMBER_RANK) {
    return NUMBER_RANK[to.type] < NUMBER_RANK[from.type] || from.type === 'double precision'
  }
  return true
}

const sameFamily = (a: string, b: string) =>
  (TEXT_TYPES.has(a) && TEXT_TYPES.has(b)) || (a in NUMBER_RANK && b in NUMBER_RANK) || a === b

const narrowedRange = (from: ColumnState['range'], to: ColumnState['range']) =>
  (to?.minimum !== undefined && (from?.minimum === undefined || to.minimum > from.minimum)) ||
  (to?.maximum !== undefined && (from?.maximum === undefined || to.maximum < from.maximum))

const sameForeignKey = (a: ForeignKeyState, b: ForeignKeyState) =>
  sameList(a.columns, b.columns) &&
  a.table === b.table &&
  sameList(a.references, b.references) &&
  a.onDelete === b.onDelete

const describeForeignKey = ({ columns, table, references, onDelete }: ForeignKeyState) =>
  `${list(columns)} → ${table}${list(references)} ON DELETE ${onDelete}`

const sameIndex = (a: IndexState, b: IndexState) =>
  sameList(a.columns, b.columns) && Boolean(a.where) === Boolean(b.where)

const describeIndex = ({ columns, where }: IndexState) => `${list(columns)}${where ? ` WHERE ${where}` : ''}`

/** The actual table with the declared renames of its columns applied: what a rename leaves. */
function renamedTable(actual: TableState, renames: Array<[string, string]>): TableState {
  const to = new Map(renames.map(([newName, oldName]) => [oldName, newName]))
  const renamed = (column: string) => to.get(column) ?? column
  const columns = (names: readonly string[]) => names.map(renamed)
  return {
    ...actual,
    columns: actual.columns.map((column) => ({ ...column, name: renamed(column.name) })),
    primaryKey: { ...actual.primaryKey, columns: columns(actual.primaryKey.columns) },
    uniques: actual.uniques.map((key) => ({ ...key, columns: columns(key.columns) })),
    foreignKeys: actual.foreignKeys.map((key) => ({ ...key, columns: columns(key.columns) })),
    indexes: actual.indexes.map((index) => ({ ...index, columns: columns(index.columns) }))
  }
}

class TableDiff {
  readonly operations: Operation[] = []
  private readonly name: string

  constructor(
    private actual: TableState,
    private readonly declared: TableState
  ) {
    this.name = declared.name
  }

  private add(operation: Omit<Operation, 'table' | 'of'>) {
    this.operations.push({ ...operation, table: this.name, of: this.declared.of })
  }

  run(): Operation[] {
    this.renames()
    this.columns()
    this.primaryKey()
    this.checks()
    this.keyed('unique key', this.actual.uniques, this.declared.uniques, {
      same: (a, b) => sameList(a.columns, b.columns),
      describe: (key) => list(key.columns),
      create: (key) => addConstraint(this.name, uniqueConstraint(key)),
      drop: (key) => dropUnique(this.name, key),
      rename: (from, to) =>
        from.index ? renameIndex(from.name, to) : renameConstraint(this.name, from.name, to),
      warning: (key) => `fails if two rows of ${this.name} share ${list(key.columns)}`
    })
    this.keyed('foreign key', this.actual.foreignKeys, this.declared.foreignKeys, {
      same: sameForeignKey,
      describe: describeForeignKey,
      create: (key) => addConstraint(this.name, foreignKeyConstraint(key)),
      drop: (key) => dropConstraint(this.name, key.name),
      rename: (from, to) => renameConstraint(this.name, from.name, to),
      phases: [Phase.DropForeignKey, Phase.AddForeignKey]
    })
    this.keyed('index', this.actual.indexes, this.declared.indexes, {
      same: sameIndex,
      describe: describeIndex,
      create: (index) => createIndex(this.name, index),
      drop: (index) => dropIndex(index.name),
      rename: (from, to) => renameIndex(from.name, to)
    })
    this.triggers()
    return this.operations
  }

  /** The renames the declaration asks for, where the old column is there and the new one is not. */
  private renames() {
    const present = new Set(this.actual.columns.map(({ name }) => name))
    const renames = Object.entries(this.declared.renamed ?? {}).filter(
      ([newName, oldName]) => present.has(oldName) && !present.has(newName)
    )
    for (const [newName, oldName] of renames) {
      const column = this.actual.columns.find(({ name }) => name === oldName)!
      const checks = columnChecks(this.name, column).map(({ name }) => [
        name,
        name.replace(`${this.name}_${oldName}_`, `${this.name}_${newName}_`)
      ])
      this.add({
        phase: Phase.Rename,
        summary: `${this.name}.${oldName}: rename the column to ${newName} (the declaration's \`renamed\`)`,
        difference: `${this.name}.${oldName}: the column the declaration renames to '${newName}'`,
        up: [
          `ALTER TABLE ${id(this.name)} RENAME COLUMN ${id(oldName)} TO ${id(newName)}`,
          ...checks.map(([from, to]) => renameConstraint(this.name, from, to))
        ],
        down: [
          `ALTER TABLE ${id(this.name)} RENAME COLUMN ${id(newName)} TO ${id(oldName)}`,
          ...checks.map(([from, to]) => renameConstraint(this.name, to, from))
        ]
      })
    }
    this.actual = renamedTable(this.actual, renames)
  }

  private columns() {
    const internal = new Set(this.declared.internal ?? [])
    const actual = byName(this.actual.columns.filter(({ name }) => !internal.has(name)))
    const declared = this.declared.columns.filter(({ name }) => !internal.has(name))
    for (const column of declared) {
      const present = actual.get(column.name)
      if (present) this.column(present, column)
      else this.addColumn(column)
    }
    const known = new Set(declared.map(({ name }) => name))
    for (const column of actual.values()) {
      if (!known.has(column.name)) this.dropColumn(column)
    }
  }

  private addColumn(column: ColumnState) {
    const checks = columnChecks(this.name, column).map(({ name, condition }) =>
      checkConstraint(name, condition)
    )
    const required = !column.nullable && column.default === undefined
    this.add({
      phase: Phase.AddColumn,
      summary: `${this.name}.${column.name}: add the column (${describeColumn(column)})`,
      difference: `${this.name}.${column.name}: no such column for the declared field '${column.field ?? column.name}'`,
      up: [`ALTER TABLE ${id(this.name)} ADD COLUMN ${[columnDefinition(column), ...checks].join(' ')}`],
      down: [`ALTER TABLE ${id(this.name)} DROP COLUMN ${id(column.name)}`],
      ...(required && {
        warning: `fails if ${this.name} has rows: a column that may not be null needs a value in each (give the field a default or make it optional, or fill it by hand)`
      })
    })
  }

  private dropColumn(column: ColumnState) {
    const checks = columnChecks(this.name, column).map(({ name, condition }) =>
      checkConstraint(name, condition)
    )
    this.add({
      phase: Phase.DropColumn,
      summary: `${this.name}.${column.name}: drop the column (${describeColumn(column)})`,
      difference: `${this.name}.${column.name}: a column the declaration does not know (declare it, or list it in \`internal\`)`,
      up: [`ALTER TABLE ${id(this.name)} DROP COLUMN ${id(column.name)}`],
      // Back as it was, but that a column without a default may be null: the rows there are have no value.
      down: [
        `ALTER TABLE ${id(this.name)} ADD COLUMN ${[
          columnDefinition({ ...column, nullable: column.nullable || column.default === undefined }),
          ...checks
        ].join(' ')}`
      ],
      warning: `drops ${this.name}.${column.name} and every value in it (the down migration adds the column back, without them)`
    })
  }

  private alter(column: string, change: string) {
    return `ALTER TABLE ${id(this.name)} ALTER COLUMN ${id(column)} ${change}`
  }

  private column(actual: ColumnState, declared: ColumnState) {
    const where = `${this.name}.${declared.name}`
    const typeChanged = actual.type !== declared.type || actual.length !== declared.length
    if (typeChanged) {
      const using = (to: ColumnState) =>
        sameFamily(actual.type, declared.type) ? '' : ` USING ${id(declared.name)}::${typeOf(to)}`
      const sameTypeOtherLength = actual.type === declared.type
      this.add({
        phase: Phase.AlterColumn,
        summary: `${where}: change the type from ${typeOf(actual)} to ${typeOf(declared)}`,
        difference: sameTypeOtherLength
          ? `${where}: the column holds ${actual.length ?? 'any number of'} characters, the declaration says ${declared.length ?? 'any number'}`
          : `${where}: the column is ${typeOf(actual)}, the declaration says ${typeOf(declared)}`,
        up: [this.alter(declared.name, `TYPE ${typeOf(declared)}${using(declared)}`)],
        down: [this.alter(declared.name, `TYPE ${typeOf(actual)}${using(actual)}`)],
        ...(narrows(actual, declared) && {
          warning: `fails if a value of ${where} does not fit ${typeOf(declared)}`
        })
      })
    }
    if (actual.nullable !== declared.nullable) {
      const fill =
        !declared.nullable && declared.default !== undefined
          ? [
              `UPDATE ${id(this.name)} SET ${id(declared.name)} = ${declared.default} WHERE ${id(declared.name)} IS NULL`
            ]
          : []
      this.add({
        phase: Phase.AlterColumn,
        summary: declared.nullable
          ? `${where}: may be null`
          : `${where}: may not be null${fill.length ? ` (rows holding NULL take the default, ${declared.default})` : ''}`,
        difference: `${where}: the column ${actual.nullable ? 'may' : 'may not'} be null, the declaration says it ${declared.nullable ? 'may' : 'may not'}`,
        up: [...fill, this.alter(declared.name, declared.nullable ? 'DROP NOT NULL' : 'SET NOT NULL')],
        down: [this.alter(declared.name, declared.nullable ? 'SET NOT NULL' : 'DROP NOT NULL')],
        ...(declared.nullable
          ? { warning: `the down migration fails if a row then holds NULL in ${where}` }
          : fill.length === 0 && { warning: `fails if a row holds NULL in ${where}` })
      })
    }
    if (actual.default !== declared.default) {
      const set = (value: string | undefined) =>
        value === undefined ? 'DROP DEFAULT' : `SET DEFAULT ${value}`
      this.add({
        phase: Phase.AlterColumn,
        summary: `${where}: ${declared.default === undefined ? 'no default' : `default ${declared.default}`}`,
        difference: `${where}: the column's default is ${actual.default ?? 'none'}, the declaration says ${declared.default ?? 'none'}`,
        up: [this.alter(declared.name, set(declared.default))],
        down: [this.alter(declared.name, set(actual.default))]
      })
    }
    const valuesDiffer =
      (actual.values === undefined) !== (declared.values === undefined) ||
      !sameSet(actual.values ?? [], declared.values ?? [])
    if (valuesDiffer) this.valuesCheck(actual, declared)
    if (!sameRange(actual.range, declared.range)) this.rangeCheck(actual, declared)
  }

  private valuesCheck(actual: ColumnState, declared: ColumnState) {
    const where = `${this.name}.${declared.name}`
    const name = valuesCheckName(this.name, declared.name)
    const quoted = (values: readonly string[] = []) => values.map((value) => `'${value}'`).join(', ')
    if (actual.values) {
      this.add({
        phase: Phase.DropKey,
        summary: `${where}: drop the check of its values (${quoted(actual.values)})`,
        difference: declared.values
          ? `${where}: the column holds one of ${quoted(actual.values)}, the declaration says ${quoted(declared.values)}`
          : `${where}: the column holds one of ${quoted(actual.values)}, the declaration says any`,
        up: [dropConstraint(this.name, name)],
        down: [addConstraint(this.name, checkConstraint(name, valuesCondition(declared.name, actual.values)))]
      })
    }
    if (declared.values) {
      const removed = (actual.values ?? []).filter((value) => !declared.values!.includes(value))
      this.add({
        phase: Phase.AddKey,
        summary: `${where}: check its values (${quoted(declared.values)})`,
        difference: actual.values
          ? `${where}: the check of its values is to be ${quoted(declared.values)}`
          : `${where}: no check of its values (${quoted(declared.values)})`,
        up: [
          addConstraint(this.name, checkConstraint(name, valuesCondition(declared.name, declared.values)))
        ],
        down: [dropConstraint(this.name, name)],
        ...((removed.length > 0 || !actual.values) && {
          warning: `fails if a row of ${this.name} holds another value in ${declared.name}${removed.length ? ` (no longer allowed: ${quoted(removed)})` : ''}: change those rows first`
        })
      })
    }
  }

  private rangeCheck(actual: ColumnState, declared: ColumnState) {
    const where = `${this.name}.${declared.name}`
    const name = rangeCheckName(this.name, declared.name)
    if (actual.range) {
      this.add({
        phase: Phase.DropKey,
        summary: `${where}: drop the check of its range (${describeRange(actual.range)})`,
        difference: `${where}: the column's range is ${describeRange(actual.range)}, the declaration says ${declared.range ? describeRange(declared.range) : 'any'}`,
        up: [dropConstraint(this.name, name)],
        down: [addConstraint(this.name, checkConstraint(name, rangeCondition(declared.name, actual.range)))]
      })
    }
    if (declared.range) {
      this.add({
        phase: Phase.AddKey,
        summary: `${where}: check its range (${describeRange(declared.range)})`,
        difference: actual.range
          ? `${where}: the check of its range is to be ${describeRange(declared.range)}`
          : `${where}: no check of its range (${describeRange(declared.range)})`,
        up: [addConstraint(this.name, checkConstraint(name, rangeCondition(declared.name, declared.range)))],
        down: [dropConstraint(this.name, name)],
        ...(narrowedRange(actual.range, declared.range) && {
          warning: `fails if a value of ${where} is not ${describeRange(declared.range)}: change those rows first`
        })
      })
    }
  }

  private primaryKey() {
    const { primaryKey: actual } = this.actual
    const { primaryKey: declared } = this.declared
    if (!sameList(actual.columns, declared.columns)) {
      this.add({
        phase: Phase.AddKey,
        summary: `${this.name}: the primary key on ${list(declared.columns)}`,
        difference: `${this.name}: the primary key is on ${list(actual.columns)}, the declaration says ${list(declared.columns)}`,
        up: [
          dropConstraint(this.name, actual.name),
          addConstraint(this.name, primaryKeyConstraint(declared))
        ],
        down: [
          dropConstraint(this.name, declared.name),
          addConstraint(this.name, primaryKeyConstraint(actual))
        ],
        warning: `fails if two rows of ${this.name} share ${list(declared.columns)}`
      })
    } else if (actual.name !== declared.name) {
      this.add({
        phase: Phase.Rename,
        summary: `${this.name}: rename the primary key ${actual.name} to ${declared.name}`,
        difference: `${this.name}: the primary key is named ${actual.name}, the declaration says ${declared.name}`,
        up: [renameConstraint(this.name, actual.name, declared.name)],
        down: [renameConstraint(this.name, declared.name, actual.name)]
      })
    }
  }

  /** The table's own checks, by name: their conditions are not compared (SQL does not read back as written). */
  private checks() {
    const actual = byName(this.actual.checks)
    const declared = byName(this.declared.checks)
    for (const check of declared.values()) {
      if (actual.has(check.name)) continue
      this.add({
        phase: Phase.AddKey,
        summary: `${this.name}: add the check ${check.name} (${check.sql})`,
        difference: `${this.name}: no check ${check.name}`,
        up: [addConstraint(this.name, checkConstraint(check.name, check.sql))],
        down: [dropConstraint(this.name, check.name)],
        warning: `fails if a row of ${this.name} does not pass ${check.name}`
      })
    }
    for (const check of actual.values()) {
      if (declared.has(check.name)) continue
      this.add({
        phase: Phase.DropKey,
        summary: `${this.name}: drop the check ${check.name}`,
        difference: `${this.name}: a check ${check.name} the declaration does not know`,
        up: [dropConstraint(this.name, check.name)],
        down: [addConstraint(this.name, checkConstraint(check.name, check.sql))]
      })
    }
  }

  /**
   * Keys and indexes, by name; one the declaration names otherwise but that is the same is
   * renamed, one that differs is dropped and made again.
   */
  private keyed<T extends { name: string }>(
    what: string,
    actualItems: readonly T[],
    declaredItems: readonly T[],
    how: {
      same: (a: T, b: T) => boolean
      describe: (item: T) => string
      create: (item: T) => string
      drop: (item: T) => string
      rename: (from: T, to: string) => string
      phases?: [Phase, Phase]
      warning?: (item: T) => string
    }
  ) {
    const [dropPhase, addPhase] = how.phases ?? [Phase.DropKey, Phase.AddKey]
    const actual = byName(actualItems)
    const declared = byName(declaredItems)
    const renamedFrom = new Set<string>()
    const missing: T[] = []
    for (const item of declared.values()) {
      const present = actual.get(item.name)
      if (present && how.same(present, item)) continue
      if (present) {
        this.add({
          phase: dropPhase,
          summary: `${this.name}: drop the ${what} ${present.name} ${how.describe(present)}, to make it again`,
          difference: `${this.name}: the ${what} ${item.name} is ${how.describe(present)}, the declaration says ${how.describe(item)}`,
          up: [how.drop(present)],
          down: [how.create(present)]
        })
        missing.push(item)
        continue
      }
      const same = [...actual.values()].find(
        (other) => !declared.has(other.name) && !renamedFrom.has(other.name) && how.same(other, item)
      )
      if (same) {
        renamedFrom.add(same.name)
        this.add({
          phase: Phase.Rename,
          summary: `${this.name}: rename the ${what} ${same.name} to ${item.name}`,
          difference: `${this.name}: the ${what} ${how.describe(item)} is named ${same.name}, the declaration says ${item.name}`,
          up: [how.rename(same, item.name)],
          down: [how.rename({ ...item, index: (same as { index?: boolean }).index }, same.name)]
        })
        continue
      }
      missing.push(item)
    }
    for (const item of missing) {
      const replaced = actual.has(item.name)
      this.add({
        phase: addPhase,
        summary: `${this.name}: add the ${what} ${item.name} ${how.describe(item)}`,
        difference: replaced
          ? `${this.name}: the ${what} ${item.name} is to be ${how.describe(item)}`
          : `${this.name}: no ${what} ${item.name} on ${how.describe(item)}`,
        up: [how.create(item)],
        down: [how.drop(item)],
        ...(how.warning && { warning: how.warning(item) })
      })
    }
    for (const item of actual.values()) {
      if (declared.has(item.name) || renamedFrom.has(item.name)) continue
      this.add({
        phase: dropPhase,
        summary: `${this.name}: drop the ${what} ${item.name} ${how.describe(item)}`,
        difference: `${this.name}: ${article(what)} ${item.name} ${how.describe(item)} the declaration does not know`,
        up: [how.drop(item)],
        down: [how.create(item)]
      })
    }
  }

  /** Triggers, by name: their definitions are not compared. */
  private triggers() {
    const actual = byName(this.actual.triggers)
    const declared = byName(this.declared.triggers)
    for (const trigger of declared.values()) {
      if (actual.has(trigger.name)) continue
      this.add({
        phase: Phase.CreateTrigger,
        summary: `${this.name}: create the trigger ${trigger.name}`,
        difference: `${this.name}: no trigger ${trigger.name}${this.declared.of ? ` (of '${this.declared.of}')` : ''}`,
        up: [trigger.sql],
        down: [dropTrigger(this.name, trigger.name)]
      })
    }
    for (const trigger of actual.values()) {
      if (declared.has(trigger.name)) continue
      this.add({
        phase: Phase.DropTrigger,
        summary: `${this.name}: drop the trigger ${trigger.name}`,
        difference: `${this.name}: a trigger ${trigger.name} the declaration does not know`,
        up: [dropTrigger(this.name, trigger.name)],
        down: [trigger.sql]
      })
    }
  }
}

const renameConstraint = (table: string, from: string, to: string) =>
  `ALTER TABLE ${id(table)} RENAME CONSTRAINT ${id(from)} TO ${id(to)}`

const renameIndex = (from: string, to: string) => `ALTER INDEX ${id(from)} RENAME TO ${id(to)}`

/** New tables in an order where each comes after the tables its foreign keys refer to. */
function inDependencyOrder(tables: TableState[]): TableState[] {
  const ordered: TableState[] = []
  const pending = new Map(tables.map((table) => [table.name, table]))
  while (pending.size > 0) {
    const ready = [...pending.values()].find((table) =>
      table.foreignKeys.every(({ table: target }) => target === table.name || !pending.has(target))
    )
    // A cycle of new tables: whatever order, one of them waits for the others' keys (not made here).
    const next = ready ?? pending.values().next().value!
    ordered.push(next)
    pending.delete(next.name)
  }
  return ordered
}

function createTableOperation(table: TableState): Operation {
  return {
    phase: Phase.CreateTable,
    summary: `create the table ${table.name} (${table.columns.map(({ name }) => name).join(', ')})`,
    difference: `${table.name}: no such table${table.of ? `, which the declaration of '${table.of}' needs` : ''}`,
    table: table.name,
    of: table.of,
    up: createTable(table),
    down: [dropTable(table.name)]
  }
}

function dropTableOperation(table: TableState): Operation {
  return {
    phase: Phase.DropTable,
    summary: `drop the table ${table.name}`,
    difference: `${table.name}: a table no declaration describes`,
    table: table.name,
    up: [dropTable(table.name)],
    down: createTable(table),
    warning: `drops ${table.name} and all its rows (the down migration makes it again, empty)`
  }
}

function triggerOperations(table: TableState, create: boolean): Operation[] {
  return table.triggers.map((trigger) => ({
    phase: create ? Phase.CreateTrigger : Phase.DropTrigger,
    summary: `${table.name}: ${create ? 'create' : 'drop'} the trigger ${trigger.name}`,
    difference: create
      ? `${table.name}: no trigger ${trigger.name}`
      : `${table.name}: a trigger ${trigger.name} the declaration does not know`,
    table: table.name,
    of: table.of,
    up: [create ? trigger.sql : dropTrigger(table.name, trigger.name)],
    down: [create ? dropTrigger(table.name, trigger.name) : trigger.sql]
  }))
}

function functionOperations(actual: FunctionState[], declared: FunctionState[], scope: DiffOptions['scope']) {
  const present = new Set(actual.map(({ name }) => name))
  const wanted = new Set(declared.map(({ name }) => name))
  return [
    ...declared
      .filter(({ name }) => !present.has(name))
      .map((fn): Operation => ({
        phase: Phase.CreateFunction,
        summary: `create the function ${fn.name}()`,
        difference: `no function ${fn.name}()${fn.of ? ` (of '${fn.of}')` : ''}`,
        of: fn.of,
        up: [fn.sql],
        down: [dropFunction(fn.name)]
      })),
    ...(scope === 'all'
      ? actual
          .filter(({ name }) => !wanted.has(name))
          .map((fn): Operation => ({
            phase: Phase.DropFunction,
            summary: `drop the function ${fn.name}()`,
            difference: `a function ${fn.name}() no declaration needs`,
            up: [dropFunction(fn.name)],
            down: [fn.sql]
          }))
      : [])
  ]
}

/**
 * Every operation that takes a database from `actual` to `declared`, in the order they run
 * (`down` runs them back in the reverse order). None when the two agree.
 */
export function diffSchemas(
  actual: SchemaState,
  declared: SchemaState,
  { scope = 'all' }: DiffOptions = {}
): Operation[] {
  const present = byName(actual.tables)
  const wanted = byName(declared.tables)
  const created = inDependencyOrder(declared.tables.filter(({ name }) => !present.has(name)))
  const operations: Operation[] = [
    ...functionOperations(actual.functions, declared.functions, scope),
    ...created.flatMap((table) => [createTableOperation(table), ...triggerOperations(table, true)]),
    ...created.flatMap((table): Operation[] =>
      table.fill && present.has(table.fill.from)
        ? [
            {
              phase: Phase.Fill,
              summary: `fill ${table.name} from the rows of ${table.fill.from}`,
              difference: `${table.name}: not filled from ${table.fill.from}`,
              table: table.name,
              of: table.of,
              up: [table.fill.sql],
              down: []
            }
          ]
        : []
    ),
    ...declared.tables
      .filter(({ name }) => present.has(name))
      .flatMap((table) => new TableDiff(present.get(table.name)!, table).run()),
    ...(scope === 'all'
      ? actual.tables
          .filter(({ name }) => !wanted.has(name))
          .flatMap((table) => [...triggerOperations(table, false), dropTableOperation(table)])
      : [])
  ]
  // Stable: within a phase, in the order of the declarations.
  return operations
    .map((operation, index) => ({ operation, index }))
    .sort((a, b) => a.operation.phase - b.operation.phase || a.index - b.index)
    .map(({ operation }) => operation)
}

/**
 * The tables and functions of one resource (or table) in `actual`: its declared tables, and what
 * its tables' triggers call and write to, so that a history or counts no longer declared are its
 * too. A resource no longer declared has a table of its path's name.
 */
function concerning(actual: SchemaState, declared: SchemaState, path: string) {
  const tables = new Set(declared.tables.filter(({ of }) => of === path).map(({ name }) => name))
  if (tables.size === 0) tables.add(path)
  const functions = new Set(declared.functions.filter(({ of }) => of === path).map(({ name }) => name))
  const bodies = byName(actual.functions)
  for (let grown = true; grown;) {
    const size = tables.size + functions.size
    for (const table of actual.tables.filter(({ name }) => tables.has(name))) {
      for (const { sql } of table.triggers) {
        for (const [, name] of sql.matchAll(/EXECUTE (?:FUNCTION|PROCEDURE) (?:\w+\.)?(\w+)\(/g))
          functions.add(name)
      }
    }
    for (const name of functions) {
      for (const [, table] of (bodies.get(name)?.sql ?? '').matchAll(/INSERT INTO (?:\w+\.)?(\w+)/g))
        tables.add(table)
    }
    grown = tables.size + functions.size > size
  }
  return { tables, functions }
}

/** The operations that concern one resource (or table): its tables', its functions'. */
export function operationsOf(
  operations: Operation[],
  actual: SchemaState,
  declared: SchemaState,
  path: string
): Operation[] {
  const { tables, functions } = concerning(actual, declared, path)
  const functionOf = (operation: Operation) => /function (\w+)\(\)/.exec(operation.summary)?.[1]
  return operations.filter(
    (operation) =>
      operation.of === path ||
      (operation.table !== undefined && tables.has(operation.table)) ||
      (operation.table === undefined && functions.has(functionOf(operation) ?? ''))
  )
}

export type { KeyState }
