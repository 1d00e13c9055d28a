import type { Application } from '../declarations'

type RouteNode = Application['routes']['root']

function withoutPrototype(node: RouteNode) {
  if (Object.getPrototypeOf(node.children) !== null) {
    Object.setPrototypeOf(node.children, null)
  }
  Object.values(node.children).forEach(withoutPrototype)
  node.placeholders.forEach(withoutPrototype)
}

/**
 * Feathers' router keeps each level's routes in a plain object, so a path segment such as
 * `__proto__`, `constructor` or `toString` finds an inherited property instead of no route, and
 * the lookup throws (a 500 over REST, a stack trace over a socket). Without a prototype those
 * names are simply unknown: a 404, or an id like any other. Re-applied after each registration,
 * since the router adds new levels as plain objects: configured after the transports, whose
 * routing mixin inserts the routes before this one runs. How the router keeps its levels is not
 * documented; test/unit/library-internals.test.ts checks it.
 */
export const routesWithoutPrototype = (app: Application) => {
  const { routes } = app
  withoutPrototype(routes.root)
  app.mixins.push(() => withoutPrototype(routes.root))
}
