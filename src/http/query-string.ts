import { BadRequest } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'

// The query string parser (qs, through koa-qs) silently drops what it will not parse: parameters
// past its limit, and any whose name or bracketed part is a property of Object.prototype
// (`$ifMatch[__proto__]=1`, `toString=x`). A condition a client sent must not vanish: such a
// query string is a 400 instead.
const MAX_PARAMETERS = 1000
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype))

function decodedName(parameter: string) {
  const name = parameter.split('=', 1)[0].replace(/\+/g, ' ')
  try {
    return decodeURIComponent(name)
  } catch {
    return name
  }
}

/** The first part of a parameter's name (`a` and `b` of `a[b]`) that qs would drop the parameter for. */
const droppedPart = (parameter: string) =>
  decodedName(parameter)
    .split(/[[\]]/)
    .find((part) => PROTOTYPE_NAMES.has(part))

/** Refuses a query string that qs would read as less than it says. */
export const queryString = (): Middleware => async (ctx, next) => {
  if (ctx.querystring) {
    const parameters = ctx.querystring.split('&')
    if (parameters.length > MAX_PARAMETERS) {
      throw new BadRequest(`A query string holds at most ${MAX_PARAMETERS} parameters`)
    }
    const dropped = parameters.map(droppedPart).find((part) => part !== undefined)
    if (dropped !== undefined) {
      throw new BadRequest(`A query parameter may not be named '${dropped}'`)
    }
  }
  await next()
}
