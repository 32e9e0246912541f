export * from './sample';
export * from './generate';
