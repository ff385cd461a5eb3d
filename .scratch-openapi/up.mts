import { upgrade } from '@scalar/openapi-upgrader';
const doc = { swagger: '2.0', info: {title:'t', version:'1'}, host: 'x.com', basePath: '/v1', consumes:['application/json'], produces:['application/json'],
 paths: { '/pets/{id}': { get: { operationId: 'getPet', parameters: [{name:'id', in:'path', required:true, type:'string'}, {name:'tags', in:'query', type:'array', items:{type:'string'}, collectionFormat:'pipes'}], responses: { 200: { description:'ok', schema: { $ref: '#/definitions/Pet' } } } },
   post: { parameters: [{name:'body', in:'body', schema:{$ref:'#/definitions/Pet'}}], responses: {201:{description:'x', schema:{type:'file'}}}}},
  '/up': { post: { consumes:['multipart/form-data'], parameters:[{name:'file', in:'formData', type:'file'}, {name:'n', in:'formData', type:'string'}], responses:{200:{description:'ok'}}}}},
 definitions: { Pet: { type:'object', required:['id'], properties: { id: {type:'string'}, x: {type:'string', 'x-nullable': true} } } } };
console.log(JSON.stringify(upgrade(doc, '3.1'), null, 1));
