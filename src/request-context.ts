import { AsyncLocalStorage } from 'node:async_hooks'

/** What is known about the request being served, wherever in its call chain code runs. */
export interface RequestContext {
  requestId: string
  ip: string
  userId?: string
}

const storage = new AsyncLocalStorage<RequestContext>()

export const runInRequestContext = <T>(context: RequestContext, fn: () => T): T => storage.run(context, fn)

export const currentRequest = (): RequestContext | undefined => storage.getStore()
